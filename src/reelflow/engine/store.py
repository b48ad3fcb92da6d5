"""The engine's unit of work: transactions on its clock, and row locks in one order.

Lock order, so that two processes on PostgreSQL never deadlock: a transaction that changes a
task's sub-tasks or jobs first locks the task row, then the job rows. SQLite has one writer
at a time (``BEGIN IMMEDIATE``), so there the row locks compile to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from reelflow.db.models import Job, SubTask, Task
from reelflow.db.session import transaction

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """``Store(sessions, clock=utcnow)``: every engine command is one ``write()`` or
    ``read()`` transaction, and reads the time from ``now()`` (the engine's clock)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    @contextmanager
    def write(self) -> Iterator[Session]:
        with transaction(self._sessions, write=True) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with transaction(self._sessions, write=False) as session:
            yield session

    def now(self) -> datetime:
        return self._clock()


def _locked_task(session: Session, where: ColumnElement[bool], *, skip_locked: bool) -> Task | None:
    """The task matching ``where``, locked, then its sub-tasks (loaded by a second statement
    once the lock is held).

    Never in one statement with a join: on PostgreSQL a ``FOR UPDATE`` that waited for the
    task row returns the task's new version but the joined rows of the snapshot taken before
    the wait (READ COMMITTED re-checks only the locked row), so a result handled right after
    another result of the same task would see its sibling's sub-tasks still running, and the
    task would never finish. The second statement takes a fresh snapshot."""
    query = (
        select(Task)
        .where(where)
        .options(selectinload(Task.subtasks))
        .with_for_update(skip_locked=skip_locked)
    )
    return session.scalars(query).one_or_none()


def lock_task(session: Session, task_id: str, *, skip_locked: bool = False) -> Task | None:
    """The task row, locked; ``None`` if unknown (or, with ``skip_locked``, busy)."""
    return _locked_task(session, Task.id == task_id, skip_locked=skip_locked)


def lock_job(
    session: Session, job_id: int, *, skip_locked: bool = False
) -> tuple[Task, Job] | None:
    """The job and its task, locked task first; ``None`` if unknown (or busy).

    The task is found through the job inside its own lock statement (a job never changes
    task), then the job row is locked."""
    of_job = select(Job.task_id).where(Job.id == job_id).scalar_subquery()
    task = _locked_task(session, Task.id == of_job, skip_locked=skip_locked)
    if task is None:
        return None
    query = select(Job).where(Job.id == job_id).with_for_update(skip_locked=skip_locked)
    job = session.scalars(query).one_or_none()
    return None if job is None else (task, job)


def lock_jobs(session: Session, job_ids: Iterable[int]) -> dict[int, tuple[Task, Job]]:
    """Several jobs and their tasks, locked in three statements whatever their number: the
    tasks (in id order), their sub-tasks (a fresh snapshot once the locks are held, as in
    ``lock_task``), then the jobs (in id order). Unknown ids are left out.

    Every batch takes its task locks in one order, and each task before its jobs, so two
    batches (or a batch and any single-task transaction) never close a deadlock cycle."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    of_jobs = select(Job.task_id).where(Job.id.in_(ids))
    tasks_query = (
        select(Task)
        .where(Task.id.in_(of_jobs))
        .order_by(Task.id)
        .options(selectinload(Task.subtasks))
        .with_for_update()
    )
    tasks = {task.id: task for task in session.scalars(tasks_query)}
    jobs_query = select(Job).where(Job.id.in_(ids)).order_by(Job.id).with_for_update()
    return {
        job.id: (tasks[job.task_id], job)
        for job in session.scalars(jobs_query)
        if job.task_id in tasks
    }


def subtasks_of(task: Task, indices: Iterable[int]) -> list[SubTask]:
    """The sub-tasks of ``task`` among ``indices`` (a job's ``subtasks``), in task order."""
    wanted = set(indices)
    return [sub for sub in task.subtasks if sub.index in wanted]
