"""Job commands after the claim (``engine.claims``): adopt, heartbeat, and take back jobs
whose worker is gone.

In cluster mode the claim is handed on: the scheduler claims with a *dispatch lease* and
sends the job to the broker; the worker that starts it ``adopt``s the claim (the lease becomes
the worker's, renewed by its heartbeats). A job whose message was lost is never adopted and
comes back when its dispatch lease expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update

from reelflow.config import Settings
from reelflow.db.models import Job
from reelflow.engine.observers import Hooks, subtask_states
from reelflow.engine.outcomes import Outcomes, requeue
from reelflow.engine.store import Store, lock_job
from reelflow.specs.states import JobState

LEASE_EXPIRED = "InternalError.LeaseExpired"
# Expired leases taken back by one sweep: the rest wait for the next, so that a mass expiry
# (a dead worker pool) never holds the write lock long enough to stall claims.
SWEEP_BATCH = 200


def expired(now: datetime) -> Select[int]:
    """RUNNING jobs whose lease ended before ``now``: one range of the index
    ``(state, lease_expires_at)``, whatever the number of other jobs."""
    return select(Job.id).where(Job.state == JobState.RUNNING, Job.lease_expires_at < now)


def parse_job_id(job_id: str) -> int | None:
    """The row id behind a ``JobPayload.job_id``; ``None`` if it cannot be one of ours."""
    return int(job_id) if job_id.isascii() and job_id.isdigit() else None


class Jobs:
    """The job commands of claimers and workers, each one transaction of ``store``; leases
    last ``settings.lease_seconds`` unless a claim says otherwise."""

    def __init__(self, store: Store, outcomes: Outcomes, hooks: Hooks, settings: Settings) -> None:
        self._store = store
        self._outcomes = outcomes
        self._hooks = hooks
        self._settings = settings

    def _lease_end(self, now: datetime, seconds: float | None = None) -> datetime:
        return now + timedelta(seconds=seconds or self._settings.lease_seconds)

    def adopt(self, job_id: str, attempt: int, dispatcher: str, worker: str) -> bool:
        """Hand the claim ``(job_id, attempt)`` made by ``dispatcher`` to ``worker``, which is
        about to run the job; the lease is then ``worker``'s for ``settings.lease_seconds``,
        renewed by its ``heartbeat``s, and its events are applied with ``owner=worker``.

        ``False`` means the message is stale and the job must not run: the claim ended or was
        taken back (cancelled, expired), or another worker already adopted it (a broker
        redelivery after that worker died: the engine takes the job back when its lease
        expires, which counts an attempt, so a job that kills its workers cannot loop).
        """
        parsed = parse_job_id(job_id)
        if parsed is None:
            return False
        with self._store.write() as session:
            adopted = session.execute(
                update(Job)
                .where(
                    Job.id == parsed,
                    Job.state == JobState.RUNNING,
                    Job.attempt == attempt,
                    Job.lease_owner == dispatcher,
                )
                .values(lease_owner=worker, lease_expires_at=self._lease_end(self._store.now()))
            )
            return bool(getattr(adopted, "rowcount", 0) == 1)

    def claims_ended(self, claims: Mapping[str, int]) -> dict[str, bool]:
        """Which of ``claims`` (job id -> attempt) are over, each with whether the job
        succeeded on that attempt; a claim still RUNNING on its attempt is left out."""
        ended: dict[str, bool] = {}
        wanted: dict[int, str] = {}
        for job_id in claims:
            parsed = parse_job_id(job_id)
            if parsed is None:
                ended[job_id] = False  # never one of ours
            else:
                wanted[parsed] = job_id
        if not wanted:
            return ended
        query = select(Job.id, Job.state, Job.attempt).where(Job.id.in_(wanted))
        with self._store.read() as session:
            rows = {row.id: (row.state, row.attempt) for row in session.execute(query)}
        for parsed, job_id in wanted.items():
            state, attempt = rows.get(parsed, (None, None))
            if state is JobState.RUNNING and attempt == claims[job_id]:
                continue
            ended[job_id] = state is JobState.SUCCEEDED and attempt == claims[job_id]
        return ended

    def claims_waiting(self, owner: str, claims: Mapping[str, int]) -> set[str]:
        """Which of ``owner``'s dispatched ``claims`` (job id -> attempt) no worker has
        adopted yet: their messages still wait in the broker (or were lost)."""
        wanted = {parsed: job_id for job_id in claims if (parsed := parse_job_id(job_id))}
        if not wanted:
            return set()
        query = select(Job.id, Job.attempt).where(
            Job.id.in_(wanted), Job.state == JobState.RUNNING, Job.lease_owner == owner
        )
        with self._store.read() as session:
            rows = session.execute(query).all()
        return {wanted[row.id] for row in rows if claims[wanted[row.id]] == row.attempt}

    def heartbeat(self, owner: str, job_ids: list[str]) -> list[str]:
        """Extend ``owner``'s leases on ``job_ids``; returns the ids it no longer holds.

        A job is lost when its lease expired and it was taken back, or its task was
        cancelled: the caller must stop running it (its results would be ignored anyway).
        """
        ids = {parsed for parsed in map(parse_job_id, job_ids) if parsed is not None}
        held: set[int] = set()
        if ids:
            with self._store.write() as session:
                now = self._store.now()
                mine = select(Job.id).where(
                    Job.id.in_(ids), Job.state == JobState.RUNNING, Job.lease_owner == owner
                )
                held = set(session.scalars(mine))
                if held:
                    # Rows locked by another transaction (a cancel or a result holding the
                    # task, then its jobs) are skipped, not waited for: this statement takes
                    # job rows without their task, so waiting could close a deadlock cycle
                    # on PostgreSQL. A skipped lease is renewed on the next beat.
                    free = mine.where(Job.id.in_(held)).with_for_update(skip_locked=True)
                    session.execute(
                        update(Job)
                        .where(Job.id.in_(free))
                        .values(lease_expires_at=self._lease_end(now))
                    )
        return [job_id for job_id in job_ids if parse_job_id(job_id) not in held]

    def requeue_expired(self) -> int:
        """Take back RUNNING jobs whose lease expired, at most ``SWEEP_BATCH``; returns how
        many (found by the index ``state, lease_expires_at``).

        Each goes back to QUEUED after a backoff, or, with its attempts used up, FAILED with
        ``InternalError.LeaseExpired`` together with its unfinished sub-tasks (for a probe
        job: the whole task).
        """
        with self._store.read() as session:
            if session.execute(expired(self._store.now()).limit(1)).first() is None:
                return 0
        count = 0
        with self._store.write() as session:
            now = self._store.now()
            for job_id in session.scalars(expired(now).limit(SWEEP_BATCH)).all():
                locked = lock_job(session, job_id, skip_locked=True)
                if locked is None:
                    continue
                task, job = locked
                lease_end = job.lease_expires_at
                if job.state is not JobState.RUNNING or lease_end is None or lease_end >= now:
                    continue  # renewed or finished since the candidate query
                before = subtask_states(task)
                self._outcomes.job_failed(
                    task,
                    job,
                    code=LEASE_EXPIRED,
                    message=(
                        f"the worker {job.lease_owner} stopped renewing its lease on attempt "
                        f"{job.attempt} of {job.max_attempts}"
                    ),
                    retryable=True,
                    now=now,
                )
                self._hooks.subtasks_finished(session, task, before)
                self._outcomes.finish_task_if_done(session, task, now)
                count += 1
        return count

    def requeue_owner(self, owner: str, job_ids: list[str] | None = None) -> int:
        """Put ``owner``'s RUNNING jobs (or those of them in ``job_ids``) back in the queue at
        once: a graceful shutdown, or claims that could not be handed to a worker.

        The interrupted attempt is not counted against the job: ``max_attempts`` grows by
        one instead of ``attempt`` shrinking, so ``attempt`` stays a unique fencing token.
        Returns how many jobs were requeued.
        """
        count = 0
        with self._store.write() as session:
            now = self._store.now()
            mine = select(Job.id).where(Job.state == JobState.RUNNING, Job.lease_owner == owner)
            if job_ids is not None:
                wanted = {i for i in map(parse_job_id, job_ids) if i is not None}
                mine = mine.where(Job.id.in_(wanted))
            for job_id in session.scalars(mine).all():
                locked = lock_job(session, job_id)
                if locked is None:
                    continue
                task, job = locked
                if job.state is not JobState.RUNNING or job.lease_owner != owner:
                    continue
                job.max_attempts += 1
                requeue(task, job, now, delay=timedelta(0))
                count += 1
        return count
