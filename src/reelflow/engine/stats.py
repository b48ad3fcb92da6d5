"""Read-only counts of tasks and jobs: what the console's dashboard and the metrics
endpoint show. Every read is one read transaction; state only ever changes through the
engine's commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
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

    def finished_by_hour(
        self, account_id: int, first: datetime, hours: int
    ) -> list[tuple[int, TaskState, int]]:
        """(hour, state, how many) of an account's tasks that finished in each of the
        ``hours`` clock hours from ``first`` (a whole UTC hour; hour 0 starts there), counted
        by the database: at most ``hours`` x states rows however many tasks finished."""
        end = first + timedelta(hours=hours)
        with transaction(self._sessions, write=False) as session:
            if session.get_bind().dialect.name == "postgresql":
                utc = func.timezone("UTC", Task.finished_at)
                hour: ColumnElement[Any] = func.date_trunc("hour", utc)
            else:  # SQLite keeps UTC text, "YYYY-MM-DD HH:MM:SS...": its first 13 characters
                hour = func.substr(Task.finished_at, 1, 13)
            finished = (
                select(hour.label("hour"), Task.state.label("state"))
                .where(
                    Task.account_id == account_id,
                    Task.finished_at >= first,
                    Task.finished_at < end,
                )
                .subquery()
            )
            query = select(finished.c.hour, finished.c.state, func.count()).group_by(
                finished.c.hour, finished.c.state
            )
            rows = list(session.execute(query))
        counts: list[tuple[int, TaskState, int]] = []
        for hour_of, state, count in rows:
            at = datetime.strptime(hour_of, "%Y-%m-%d %H") if isinstance(hour_of, str) else hour_of
            slot = int((at.replace(tzinfo=UTC) - first).total_seconds() // 3600)
            if 0 <= slot < hours:
                counts.append((slot, TaskState(state), int(count)))
        return counts


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
