"""What the engine tells others of what it did.

Inside its own transactions it tells a ``TaskObserver``. The notification outbox is the
observer: it writes its event rows in the session it is handed, so an event is committed if
and only if the state change that caused it is. An observer must not commit, roll back or
open another transaction; raising rolls the state change back, so it raises only for bugs.

After a commit that queued jobs it calls ``on_jobs_added``: the scheduler wakes instead of
waiting for its next poll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from reelflow.db.models import SubTask, Task
from reelflow.specs.states import SubTaskState


class TaskObserver(Protocol):
    def task_started(self, session: Session, task: Task) -> None:
        """``task`` just moved from queued to running (once per run; again after a retry)."""

    def subtasks_finished(self, session: Session, task: Task, subtasks: Sequence[SubTask]) -> None:
        """``subtasks`` of ``task`` (not yet finished) just reached a final state."""

    def task_finished(self, session: Session, task: Task) -> None:
        """``task`` just reached a final state: succeeded, failed or cancelled."""


class Hooks:
    """The engine's listeners, shared by its collaborators and set after construction
    (``observer``: the outbox; ``on_jobs_added``: the scheduler's ``wake``); both optional."""

    def __init__(self) -> None:
        self.observer: TaskObserver | None = None
        self.on_jobs_added: Callable[[], None] | None = None

    def jobs_added(self) -> None:
        """Called after the commit that queued new jobs."""
        if self.on_jobs_added is not None:
            self.on_jobs_added()

    def task_started(self, session: Session, task: Task) -> None:
        """``task`` moved from queued to running in this transaction."""
        if self.observer is not None:
            self.observer.task_started(session, task)

    def task_finished(self, session: Session, task: Task) -> None:
        """Called inside the transaction that finished ``task`` (succeeded, failed or
        cancelled), exactly once per run. The notification outbox writes its event row here,
        so the event is committed if and only if the state change is.
        """
        if self.observer is not None:
            self.observer.task_finished(session, task)

    def subtasks_finished(
        self, session: Session, task: Task, before: dict[int, SubTaskState]
    ) -> None:
        """Tell the observer which sub-tasks became final since ``before`` (their states at
        the start of this transaction, from ``subtask_states``)."""
        if self.observer is None:
            return
        done = [
            sub
            for sub in task.subtasks
            if sub.state.is_terminal and before.get(sub.index) is not sub.state
        ]
        if done:
            self.observer.subtasks_finished(session, task, done)


def subtask_states(task: Task) -> dict[int, SubTaskState]:
    """The states of ``task``'s sub-tasks by index: the ``before`` of ``subtasks_finished``."""
    return {sub.index: sub.state for sub in task.subtasks}
