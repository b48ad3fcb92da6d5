"""The outbox writer: the engine's ``TaskObserver``.

For a task whose request has a ``notify`` target it adds, in the engine's own transaction,
an event row and its pending delivery; after that transaction commits, ``on_written`` is
called (the delivery loop's ``wake``), so delivery starts at once instead of at the next poll.
A rolled-back state change leaves no event behind, and a committed one always has its
event: that is the whole point of the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.compat.render import event_body, event_copy
from reelflow.db.models import SubTask, Task
from reelflow.db.notify import NotifyDelivery, NotifyEvent
from reelflow.engine.views import TaskView
from reelflow.specs.events import DeliveryState, EventType
from reelflow.specs.notify import NotifyTarget

_WRITTEN = "reelflow.notify.written"  # session.info flag: this transaction wrote an event


def new_event_id() -> str:
    return f"ev-{uuid.uuid4().hex}"


class OutboxWriter:
    """``OutboxWriter(sessions, max_retry_seconds)``: watch the engine's transactions made
    by ``sessions``; deliveries are tried for ``max_retry_seconds`` after their event."""

    def __init__(self, sessions: sessionmaker[Session], max_retry_seconds: float) -> None:
        self._max_retry = timedelta(seconds=max_retry_seconds)
        self.on_written: Callable[[], None] | None = None
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_rollback", self._after_rollback)

    # -- TaskObserver ---------------------------------------------------------------------

    def task_started(self, session: Session, task: Task) -> None:
        target = _target(task)
        if target is not None and target.change_events:
            self._write(session, task, target, [(EventType.TASK_STARTED, None)])

    def subtasks_finished(self, session: Session, task: Task, subtasks: Sequence[SubTask]) -> None:
        target = _target(task)
        if target is None or not target.change_events:
            return
        ordered = sorted(subtasks, key=lambda s: s.index)
        self._write(session, task, target, [(EventType.SUBTASK_FINISHED, s.index) for s in ordered])

    def task_finished(self, session: Session, task: Task) -> None:
        target = _target(task)
        if target is not None:
            self._write(session, task, target, [(EventType.TASK_FINISHED, None)])

    # -- writing --------------------------------------------------------------------------

    def _write(
        self,
        session: Session,
        task: Task,
        target: NotifyTarget,
        events: Sequence[tuple[EventType, int | None]],
    ) -> None:
        """Add ``events`` (kind, sub-task index) of ``task``, numbered on from the task's
        last event. The task's view (with its ``WorkflowTask``), the last ``seq`` and the
        flush are paid once per call, not once per event: a task with many sub-tasks
        finishing together writes them all in one go."""
        if not events:
            return
        now: datetime = task.updated_at
        last = session.scalar(
            select(func.max(NotifyEvent.seq)).where(NotifyEvent.task_id == task.id)
        )
        # One body is built (the view and its WorkflowTask, the costly part); each event's
        # is that body with its own id, number and kind: the same keys in the same order
        # as ``event_body`` gives them.
        view = TaskView.of(task)
        template = event_body(view, "", 0, events[0][0])
        target_key = target.key()
        give_up_at = now + self._max_retry
        for seq, (kind, subtask_index) in enumerate(events, start=(last or 0) + 1):
            event_id = new_event_id()
            row = NotifyEvent(
                id=event_id,
                task_id=task.id,
                account_id=task.account_id,
                workflow_id=task.workflow_id,
                seq=seq,
                type=kind,
                body=event_copy(template, view, event_id, seq, kind, subtask_index),
                target=target.to_json(),
                created_at=now,
            )
            row.deliveries = [
                NotifyDelivery(
                    account_id=task.account_id,
                    target_key=target_key,
                    state=DeliveryState.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    claimed_by=None,
                    give_up_at=give_up_at,
                    last_error="",
                    last_status=None,
                    created_at=now,
                    updated_at=now,
                    delivered_at=None,
                )
            ]
            session.add(row)
        # Flushed now: a later write of this transaction (task_finished after the last
        # sub-tasks) reads these events' seq.
        session.flush()
        session.info[_WRITTEN] = True

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_WRITTEN, False) and self.on_written is not None:
            self.on_written()

    @staticmethod
    def _after_rollback(session: Session) -> None:
        session.info.pop(_WRITTEN, None)


def _target(task: Task) -> NotifyTarget | None:
    raw: Any = task.request.get("notify")
    if not raw:
        return None
    return NotifyTarget.model_validate(raw)
