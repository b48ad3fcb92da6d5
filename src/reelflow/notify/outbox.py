"""The outbox writer: the engine's ``TaskObserver``.

For a task whose request has a ``notify`` target it adds, in the engine's own transaction,
an event row and its pending delivery; after that transaction commits, ``on_written`` is
called (the dispatcher's ``wake``), so delivery starts at once instead of at the next poll.
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

from reelflow.db.models import SubTask, Task
from reelflow.db.outbox import NotifyDelivery, NotifyEvent
from reelflow.engine.views import TaskView
from reelflow.notify.body import event_body
from reelflow.notify.states import DeliveryState, EventType
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
            self._write(session, task, target, EventType.TASK_STARTED)

    def subtasks_finished(self, session: Session, task: Task, subtasks: Sequence[SubTask]) -> None:
        target = _target(task)
        if target is None or not target.change_events:
            return
        for sub in sorted(subtasks, key=lambda s: s.index):
            self._write(session, task, target, EventType.SUBTASK_FINISHED, sub.index)

    def task_finished(self, session: Session, task: Task) -> None:
        target = _target(task)
        if target is not None:
            self._write(session, task, target, EventType.TASK_FINISHED)

    # -- writing --------------------------------------------------------------------------

    def _write(
        self,
        session: Session,
        task: Task,
        target: NotifyTarget,
        kind: EventType,
        subtask_index: int | None = None,
    ) -> None:
        now: datetime = task.updated_at
        last = session.scalar(
            select(func.max(NotifyEvent.seq)).where(NotifyEvent.task_id == task.id)
        )
        seq = (last or 0) + 1
        event_id = new_event_id()
        body = event_body(TaskView.of(task), event_id, seq, kind, subtask_index)
        row = NotifyEvent(
            id=event_id,
            task_id=task.id,
            account_id=task.account_id,
            workflow_id=task.workflow_id,
            seq=seq,
            type=kind,
            body=body,
            target=target.to_json(),
            created_at=now,
        )
        row.deliveries = [
            NotifyDelivery(
                account_id=task.account_id,
                target_key=target.key(),
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=now,
                claimed_by=None,
                give_up_at=now + self._max_retry,
                last_error="",
                last_status=None,
                created_at=now,
                updated_at=now,
                delivered_at=None,
            )
        ]
        session.add(row)
        # Flushed now: the next event of this transaction reads this one's seq.
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
