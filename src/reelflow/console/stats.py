"""What the dashboard shows: an account's tasks by state, finished tasks per hour, and the
executor's slots, from the engine's read-only counts (``reelflow.engine.stats``; the console
queries nothing itself). ``DashboardStats`` (built once by ``reelflow.wiring.http``, kept on
``app.state.console``) is what the dashboard's routes read them through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reelflow.engine.ports import Executor
from reelflow.engine.stats import TaskStats
from reelflow.specs.states import TaskState

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


def throughput(
    stats: TaskStats, account_id: int, now: datetime | None = None, hours: int = HOURS
) -> list[HourBar]:
    """Tasks that finished in each of the last ``hours`` clock hours, oldest first."""
    now = now or datetime.now(UTC)
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    succeeded = [0] * hours
    failed = [0] * hours
    for slot, state, count in stats.finished_by_hour(account_id, first, hours):
        if state is TaskState.SUCCEEDED:
            succeeded[slot] += count
        elif state in (TaskState.FAILED, TaskState.CANCELLED):
            failed[slot] += count
    return [HourBar(first + timedelta(hours=i), succeeded[i], failed[i]) for i in range(hours)]


def slots(stats: TaskStats, workers: int, executor: Executor) -> Slots:
    """This process's executor slots, and the jobs of every scheduler."""
    jobs = stats.live_jobs()
    total = workers
    free = executor.free_slots()
    return Slots(
        total=total,
        in_use=max(0, min(total, total - free)),
        queued_jobs=jobs.queued,
        running_jobs=jobs.running,
    )


@dataclass(frozen=True)
class DashboardStats:
    """The dashboard's reads: the engine's counts, and this process's executor slots."""

    tasks: TaskStats
    workers: int
    executor: Executor

    def tasks_by_state(self, account_id: int) -> dict[TaskState, int]:
        return self.tasks.tasks_by_state(account_id)

    def throughput(self, account_id: int) -> list[HourBar]:
        return throughput(self.tasks, account_id)

    def slots(self) -> Slots:
        return slots(self.tasks, self.workers, self.executor)
