"""Read-only counts of tasks and jobs: what the console's dashboard and the metrics
endpoint show. Every read is one read transaction; state only ever changes through the
engine's commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.models import Job, Task
from reelflow.db.session import transaction
from reelflow.specs.states import JobState, TaskState

_LIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class LiveJobs:
    """Jobs of every scheduler that are waiting in the queue or running."""

    queued: int
    running: int


class TaskStats:
    """Counts over the task and job tables (no account filter unless given)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def tasks_by_state(self, account_id: int | None = None) -> dict[TaskState, int]:
        """Tasks in each state (every state, 0 when none): one account's, or all."""
        with transaction(self._sessions, write=False) as session:
            return _tasks_by_state(session, account_id)

    def live_jobs(self) -> LiveJobs:
        with transaction(self._sessions, write=False) as session:
            return _live_jobs(session)

    def snapshot(self) -> tuple[dict[TaskState, int], LiveJobs]:
        """All tasks by state and the live jobs, read together (one metrics scrape)."""
        with transaction(self._sessions, write=False) as session:
            return _tasks_by_state(session, None), _live_jobs(session)

    def finished_since(self, account_id: int, since: datetime) -> list[tuple[datetime, TaskState]]:
        """When (UTC) and in which state each of an account's tasks finished at or after
        ``since``."""
        query = select(Task.finished_at, Task.state).where(
            Task.account_id == account_id, Task.finished_at >= since
        )
        with transaction(self._sessions, write=False) as session:
            rows = list(session.execute(query))
        return [
            (finished if finished.tzinfo else finished.replace(tzinfo=UTC), TaskState(state))
            for finished, state in rows
            if finished is not None
        ]


def _tasks_by_state(session: Session, account_id: int | None) -> dict[TaskState, int]:
    query = select(Task.state, func.count()).group_by(Task.state)
    if account_id is not None:
        query = query.where(Task.account_id == account_id)
    found = {TaskState(state): int(count) for state, count in session.execute(query)}
    return {state: found.get(state, 0) for state in TaskState}


def _live_jobs(session: Session) -> LiveJobs:
    query = select(Job.state, func.count()).where(Job.state.in_(_LIVE)).group_by(Job.state)
    jobs = {JobState(state): int(count) for state, count in session.execute(query)}
    return LiveJobs(queued=jobs.get(JobState.QUEUED, 0), running=jobs.get(JobState.RUNNING, 0))
