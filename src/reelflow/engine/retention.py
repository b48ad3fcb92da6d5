"""Retention: finished tasks older than ``task_retention_days`` are deleted, in small
batches, by the scheduler's loop (docs/scheduling.md, "Retention").

A batch is one short transaction: the oldest finished tasks (index ``ix_tasks_finished_at``)
up to ``batch``, locked ``SKIP LOCKED`` on PostgreSQL so that it never waits on a task
someone is retrying, then their rows everywhere, children first: notification attempts,
deliveries of their events, the events, sub-tasks, jobs, the tasks.
Messages already in an embedded queue stay until their consumer deletes them (they are its
copy). Claims never read finished rows, so a purge never stands in a claim's way; on SQLite a
batch holds the write lock for a few milliseconds.

Kept on purpose: the trigger ledger's rows (``triggered_objects``: an object version that
started a task never starts another, even once the task is gone) and the planned output
keys (``own_outputs``: the outputs stay in their buckets, and a trigger must still know
them for reelflow's own). Objects in buckets are never touched.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from reelflow.db.models import Job, SubTask, Task
from reelflow.db.notify import NotifyAttempt, NotifyDelivery, NotifyEvent
from reelflow.engine.store import Store
from reelflow.specs.states import TaskState

FINISHED = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)
BATCH = 100  # tasks per transaction


class Retention:
    """``Retention(store, days, batch=100)``; ``days`` 0 keeps every task."""

    def __init__(self, store: Store, days: int, *, batch: int = BATCH) -> None:
        self._store = store
        self.days = days
        self.batch = batch

    def purge(self) -> int:
        """Delete one batch of expired tasks; returns how many (``batch``: more may wait)."""
        if self.days <= 0:
            return 0
        with self._store.write() as session:
            cutoff = self._store.now() - timedelta(days=self.days)
            expired = (
                select(Task.id)
                .where(Task.finished_at < cutoff, Task.state.in_(FINISHED))
                .order_by(Task.finished_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(expired))
            if not ids:
                return 0
            events = select(NotifyEvent.id).where(NotifyEvent.task_id.in_(ids))
            deliveries = select(NotifyDelivery.id).where(NotifyDelivery.event_id.in_(events))
            session.execute(delete(NotifyAttempt).where(NotifyAttempt.delivery_id.in_(deliveries)))
            session.execute(delete(NotifyDelivery).where(NotifyDelivery.event_id.in_(events)))
            session.execute(delete(NotifyEvent).where(NotifyEvent.task_id.in_(ids)))
            session.execute(delete(SubTask).where(SubTask.task_id.in_(ids)))
            session.execute(delete(Job).where(Job.task_id.in_(ids)))
            session.execute(delete(Task).where(Task.id.in_(ids)))
            return len(ids)
