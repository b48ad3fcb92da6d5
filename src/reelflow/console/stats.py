"""What the dashboard shows: an account's tasks by state, finished tasks per hour, and the
executor's slots. Read-only queries, like the metrics endpoint's; state is only ever
changed through the engine. ``DashboardStats`` (built once by ``reelflow.wiring.http``,
kept on ``app.state.console``) is what the dashboard's routes read them through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.models import Job, Task
from reelflow.db.session import transaction
from reelflow.engine.ports import Executor
from reelflow.specs.states import JobState, TaskState

HOURS = 12


@dataclass(frozen=True)
class HourBar:
    start: datetime
    succeeded: int
    failed: int  # failed or cancelled

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


@dataclass(frozen=True)
class Slots:
    total: int
    in_use: int
    queued_jobs: int
    running_jobs: int


def tasks_by_state(sessions: sessionmaker[Session], account_id: int) -> dict[TaskState, int]:
    query = (
        select(Task.state, func.count()).where(Task.account_id == account_id).group_by(Task.state)
    )
    with transaction(sessions, write=False) as session:
        found = {TaskState(state): int(count) for state, count in session.execute(query)}
    return {state: found.get(state, 0) for state in TaskState}


def throughput(
    sessions: sessionmaker[Session],
    account_id: int,
    now: datetime | None = None,
    hours: int = HOURS,
) -> list[HourBar]:
    """Tasks that finished in each of the last ``hours`` clock hours, oldest first."""
    now = now or datetime.now(UTC)
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    query = select(Task.finished_at, Task.state).where(
        Task.account_id == account_id, Task.finished_at >= first
    )
    succeeded = [0] * hours
    failed = [0] * hours
    with transaction(sessions, write=False) as session:
        for finished, state in session.execute(query):
            if finished is None:
                continue
            moment = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
            slot = int((moment - first).total_seconds() // 3600)
            if not 0 <= slot < hours:
                continue
            if state is TaskState.SUCCEEDED:
                succeeded[slot] += 1
            elif state in (TaskState.FAILED, TaskState.CANCELLED):
                failed[slot] += 1
    return [HourBar(first + timedelta(hours=i), succeeded[i], failed[i]) for i in range(hours)]


def slots(sessions: sessionmaker[Session], workers: int, executor: Executor) -> Slots:
    """This process's executor slots, and the jobs of every scheduler."""
    live = (JobState.QUEUED, JobState.RUNNING)
    query = select(Job.state, func.count()).where(Job.state.in_(live)).group_by(Job.state)
    with transaction(sessions, write=False) as session:
        jobs = {JobState(state): int(count) for state, count in session.execute(query)}
    total = workers
    free = executor.free_slots()
    return Slots(
        total=total,
        in_use=max(0, min(total, total - free)),
        queued_jobs=jobs.get(JobState.QUEUED, 0),
        running_jobs=jobs.get(JobState.RUNNING, 0),
    )


@dataclass(frozen=True)
class DashboardStats:
    """The dashboard's reads over the database, and this process's executor slots."""

    sessions: sessionmaker[Session]
    workers: int
    executor: Executor

    def tasks_by_state(self, account_id: int) -> dict[TaskState, int]:
        return tasks_by_state(self.sessions, account_id)

    def throughput(self, account_id: int) -> list[HourBar]:
        return throughput(self.sessions, account_id)

    def slots(self) -> Slots:
        return slots(self.sessions, self.workers, self.executor)
