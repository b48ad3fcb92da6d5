"""Read-only snapshots of tasks, as the API and CLI show them, and list cursors."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reelflow.db.models import SubTask, Task
from reelflow.errors import SpecError
from reelflow.specs.media import MediaInfo
from reelflow.specs.quality import QualityScore, RungScore, quality_json
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import JobState, SubTaskState, TaskState
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec
from reelflow.specs.templates import TRUSTED

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkMark:
    """One chunk of a chunked output as the console draws it: its share of the output's
    timeline (0..1), its job's state and progress."""

    index: int
    share: float
    state: JobState
    progress: float


@dataclass(frozen=True)
class SubTaskView:
    index: int
    kind: SubTaskKind
    state: SubTaskState
    progress: float
    err_code: str
    message: str
    output: dict[str, Any] | None
    spec: SubTaskSpec
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    quality: QualityScore | None = None  # a scored rendition (native only, issue 18)
    rung_quality: tuple[RungScore, ...] = ()  # a scored ladder's video rungs

    def quality_json(self, *, series: bool = False) -> dict[str, Any] | None:
        """The ``Quality`` object shown for this sub-task (``None``: not scored); see
        ``reelflow.specs.quality.quality_json``."""
        return quality_json(self.quality, self.rung_quality, series=series)

    @property
    def api_status(self) -> str:
        return self.state.api_status

    @classmethod
    def of(cls, sub: SubTask) -> SubTaskView:
        return cls(
            index=sub.index,
            kind=sub.kind,
            state=sub.state,
            progress=sub.progress,
            err_code=sub.err_code,
            message=sub.message,
            output=sub.output,
            spec=SubTaskSpec.model_validate(sub.spec, context=TRUSTED),
            attempts=sub.attempts,
            started_at=sub.started_at,
            finished_at=sub.finished_at,
            quality=_score(sub.quality),
            rung_quality=_rungs(sub.quality),
        )


def _score(stored: dict[str, Any] | None) -> QualityScore | None:
    """A rendition's stored score (a ladder's is ``{"rungs": [...]}``: see ``_rungs``)."""
    if not stored or "rungs" in stored:
        return None
    return QualityScore.model_validate(stored)


def _rungs(stored: dict[str, Any] | None) -> tuple[RungScore, ...]:
    if not stored or "rungs" not in stored:
        return ()
    return tuple(RungScore.model_validate(rung) for rung in stored["rungs"])


@dataclass(frozen=True)
class TaskView:
    """A task and its sub-tasks at one moment.

    ``err_code``/``message`` are task-level only: a source-level failure (the probe failed;
    the compatible API's ``WorkflowTask.ErrCode``) or ``Cancelled``. A task that failed
    because of its sub-tasks has an empty ``err_code``; each sub-task carries its own.
    """

    id: str
    state: TaskState
    priority: int
    workflow_id: int | None
    session_id: str
    session_context: str
    request: TaskRequest
    source: TaskSource
    media_info: MediaInfo | None
    err_code: str
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    subtasks: tuple[SubTaskView, ...]
    account_id: int | None = None  # the owner; None for an internal caller's task

    @property
    def api_status(self) -> str:
        return self.state.api_status

    @property
    def has_failed_subtask(self) -> bool:
        return any(
            sub.state is not SubTaskState.SUCCEEDED and sub.state.is_terminal
            for sub in self.subtasks
        )

    @classmethod
    def of(cls, task: Task) -> TaskView:
        return cls(
            id=task.id,
            state=task.state,
            priority=task.priority,
            workflow_id=task.workflow_id,
            session_id=task.session_id,
            session_context=task.session_context,
            request=TaskRequest.model_validate(task.request, context=TRUSTED),
            source=TaskSource.model_validate(task.source),
            media_info=_probe(task),
            err_code=task.err_code,
            message=task.message,
            created_at=task.created_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            updated_at=task.updated_at,
            subtasks=tuple(SubTaskView.of(sub) for sub in task.subtasks),
            account_id=task.account_id,
        )


def _probe(task: Task) -> MediaInfo | None:
    if task.media_info is None:
        return None
    try:
        return MediaInfo.from_json(task.media_info)
    except (KeyError, TypeError, ValueError):
        # A probe record this version cannot read must not make its task unreadable, nor roll
        # back a state change (whose event renders the task): it shows without MetaData.
        logger.exception("task %s: media info unreadable; shown without MetaData", task.id)
        return None


def encode_cursor(created_at: datetime, task_id: str) -> str:
    """An opaque cursor: the position after the task ``(created_at, task_id)``."""
    raw = json.dumps([created_at.isoformat(), task_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, task_id = json.loads(raw)
        when = datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise SpecError(f"invalid cursor {cursor!r}", field="cursor") from exc
    if when.tzinfo is None or not isinstance(task_id, str):
        raise SpecError(f"invalid cursor {cursor!r}", field="cursor")
    return when, task_id
