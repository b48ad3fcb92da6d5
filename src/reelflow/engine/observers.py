"""What the engine tells an observer inside its own transactions.

The notification outbox is the observer: it writes its event rows in the session it is
handed, so an event is committed if and only if the state change that caused it is. An
observer must not commit, roll back or open another transaction; raising rolls the state
change back, so it raises only for bugs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from reelflow.db.models import SubTask, Task


class TaskObserver(Protocol):
    def task_started(self, session: Session, task: Task) -> None:
        """``task`` just moved from queued to running (once per run; again after a retry)."""

    def subtasks_finished(self, session: Session, task: Task, subtasks: Sequence[SubTask]) -> None:
        """``subtasks`` of ``task`` (not yet finished) just reached a final state."""

    def task_finished(self, session: Session, task: Task) -> None:
        """``task`` just reached a final state: succeeded, failed or cancelled."""
