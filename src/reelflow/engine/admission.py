"""Admission: how many unfinished tasks one account may have (``max_queued_tasks``).

A task counts from its submission until it ends (queued or running: the compatible API's
``WAITING`` and ``PROCESSING``). The count is one range of the index ``(account_id, state,
created_at, id)`` on tasks, read no further than the limit: it costs the same whatever the
account has finished, and at most ``limit`` index entries whatever it has queued.

The check runs in the transaction that creates the task, after the account's row is locked
(PostgreSQL; SQLite's write lock already serializes writers), so two concurrent submissions
of one account never both take the last place: exactly ``limit`` tasks are accepted.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reelflow.db.models import Account, Task
from reelflow.errors import TooManyQueuedTasks
from reelflow.specs.states import TaskState

UNFINISHED = (TaskState.QUEUED, TaskState.RUNNING)


def unfinished_tasks(session: Session, account_id: int, *, up_to: int) -> int:
    """The account's unfinished tasks, counted up to ``up_to`` (a larger count reads as
    ``up_to``)."""
    head = (
        select(Task.id)
        .where(Task.account_id == account_id, Task.state.in_(UNFINISHED))
        .limit(up_to)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(head)) or 0


def room(session: Session, account_id: int, limit: int) -> int:
    """How many more tasks the account may submit now (0 when it is at or over ``limit``)."""
    return max(0, limit - unfinished_tasks(session, account_id, up_to=limit))


def admit(session: Session, account_id: int, limit: int) -> None:
    """Raise ``TooManyQueuedTasks`` unless the account may add one task; call it in the
    transaction that adds it. Locks the account's row until that transaction ends."""
    session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
    if room(session, account_id, limit) == 0:
        raise TooManyQueuedTasks(
            f"the account already has {limit} unfinished tasks (max_queued_tasks): submit "
            "again when some have finished"
        )
