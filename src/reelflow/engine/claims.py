"""Claims: start ready jobs under a lease, fairly between accounts, at a cost that does not
grow with the depth of the queue.

A claim is one read and one write transaction, whatever the number of jobs it takes:

- the read finds the accounts with ready jobs by skipping along the claim index
  (``ix_jobs_claim``: state, account, priority descending, age, id), one index probe per
  account, plus, when ``max_running_per_account`` is set, the running jobs per account.
  An idle scheduler stops here and never takes the write lock;
- ``FairShare`` orders the free slots between those accounts (docs/scheduling.md);
- the write takes, for each chosen account, its head jobs in one statement: the claim
  index serves the order exactly, so the database reads just those rows (no sort), and on
  PostgreSQL ``FOR UPDATE SKIP LOCKED`` makes concurrent claimers take different jobs
  without waiting. Their tasks are then locked the same way; a job whose task is busy (a
  cancel, a result) is left for the next claim. Neither lock waits, so claims cannot close
  a deadlock cycle with the task-then-job lock order of every other transaction.

On SQLite the write is one ``BEGIN IMMEDIATE`` transaction: claimers take turns.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, select, text
from sqlalchemy.orm import Session, selectinload

from reelflow.config import Settings
from reelflow.db.models import Job, Task
from reelflow.engine.fairshare import FairShare
from reelflow.engine.observers import Hooks
from reelflow.engine.store import Store, subtasks_of
from reelflow.engine.transitions import move_job, move_subtask, move_task
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.states import JobState, SubTaskState, TaskState

# The accounts with ready jobs, in one statement: a loose index scan of ``ix_jobs_claim``
# (each step is one probe for the next account id), which neither database does by itself.
READY_ACCOUNTS_SQL = """
    WITH RECURSIVE ready(account_id) AS (
        SELECT MIN(account_id) FROM jobs WHERE state = :queued AND not_before <= :now
        UNION ALL
        SELECT (
            SELECT MIN(j.account_id) FROM jobs j
            WHERE j.state = :queued AND j.not_before <= :now
              AND j.account_id > ready.account_id
        ) FROM ready WHERE ready.account_id IS NOT NULL
    )
    SELECT account_id FROM ready WHERE account_id IS NOT NULL
"""
_READY_ACCOUNTS = text(READY_ACCOUNTS_SQL).bindparams(
    bindparam("queued", type_=Job.state.type),
    bindparam("now", type_=Job.not_before.type),
)

# Rounds of a claim: when an account has fewer ready jobs than the slots it was given, the
# rest go round again among the others.
_ROUNDS = 4


def head_of(account: int, limit: int, now: datetime) -> Select[Job]:
    """The first ``limit`` ready jobs of ``account`` in claim order, locked (PostgreSQL:
    skipping rows another claimer holds); ``ix_jobs_claim`` serves this order exactly."""
    return (
        select(Job)
        .where(Job.state == JobState.QUEUED, Job.account_id == account, Job.not_before <= now)
        .order_by(Job.priority.desc(), Job.created_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


class Claims:
    """``claim`` for schedulers; leases last ``settings.lease_seconds`` unless a claim says
    otherwise. Keeps the fair-share state of this process's claims."""

    def __init__(self, store: Store, hooks: Hooks, settings: Settings) -> None:
        self._store = store
        self._hooks = hooks
        self._settings = settings
        self._share = FairShare(settings.account_weights, settings.max_running_per_account)

    def claim(
        self, owner: str, limit: int, *, lease_seconds: float | None = None
    ) -> list[JobPayload]:
        """Start up to ``limit`` ready jobs for ``owner``: round-robin across the accounts
        with ready jobs (weighted, capped: ``FairShare``), highest priority then oldest
        within one account.

        Each claimed job is RUNNING under a lease of ``lease_seconds`` (default
        ``settings.lease_seconds``) and its ``attempt`` is one higher; the returned payloads
        carry the claim (``job_id``, ``attempt`` and ``owner``). Its task becomes RUNNING on
        its first claim and a MEDIA job's waiting sub-tasks become RUNNING.
        """
        if limit <= 0:
            return []
        with self._store.read() as session:
            now = self._store.now()
            ready = session.execute(_READY_ACCOUNTS, {"queued": JobState.QUEUED, "now": now})
            accounts = [int(row[0]) for row in ready]
            if not accounts:
                return []
            running: Counter[int] = Counter()
            if self._share.capped:
                counted = (
                    select(Job.account_id, func.count())
                    .where(Job.state == JobState.RUNNING, Job.account_id.in_(accounts))
                    .group_by(Job.account_id)
                )
                running.update({row[0]: row[1] for row in session.execute(counted)})
        if not self._share.order(accounts, running, 1):
            return []  # every account with work is at its cap: no write lock for nothing
        payloads: list[JobPayload] = []
        with self._store.write() as session:
            now = self._store.now()
            open_accounts = set(accounts)
            for _ in range(_ROUNDS):
                slots = limit - len(payloads)
                picks = self._share.order(open_accounts, running, slots)
                if not picks:
                    break
                claimed: dict[int, list[JobPayload]] = {}
                for account, wanted in Counter(picks).items():
                    got = self._claim_account(session, account, wanted, owner, now, lease_seconds)
                    claimed[account] = got
                    running[account] += len(got)
                    if len(got) < wanted:
                        open_accounts.discard(account)  # no more ready jobs (or all busy)
                # In the fair order, so that the executor starts them in that order too.
                served: list[int] = []
                for account in picks:
                    if claimed[account]:
                        payloads.append(claimed[account].pop(0))
                        served.append(account)
                self._share.served(served)
                if len(payloads) >= limit or not open_accounts:
                    break
        return payloads

    def _claim_account(
        self,
        session: Session,
        account: int,
        wanted: int,
        owner: str,
        now: datetime,
        lease_seconds: float | None,
    ) -> list[JobPayload]:
        jobs = list(session.scalars(head_of(account, wanted, now)))
        if not jobs:
            return []
        tasks_query = (
            select(Task)
            .where(Task.id.in_({job.task_id for job in jobs}))
            .options(selectinload(Task.subtasks))
            .with_for_update(skip_locked=True)
        )
        tasks = {task.id: task for task in session.scalars(tasks_query)}
        payloads: list[JobPayload] = []
        for job in jobs:
            task = tasks.get(job.task_id)
            if task is None or job.state is not JobState.QUEUED:
                continue  # its task is busy in another transaction: the next claim takes it
            starting = task.state is TaskState.QUEUED
            self._start(task, job, owner, now, lease_seconds)
            if starting:
                self._hooks.task_started(session, task)
            payload = JobPayload.from_json(job.payload)
            claimed = {"job_id": str(job.id), "attempt": job.attempt, "owner": owner}
            payloads.append(payload.model_copy(update=claimed))
        return payloads

    def _start(
        self, task: Task, job: Job, owner: str, now: datetime, lease_seconds: float | None
    ) -> None:
        move_job(job, JobState.RUNNING, now)
        job.attempt += 1
        job.lease_owner = owner
        job.lease_expires_at = now + timedelta(
            seconds=lease_seconds or self._settings.lease_seconds
        )
        if task.state is TaskState.QUEUED:
            move_task(task, TaskState.RUNNING, now)
        if job.kind is not JobKind.PROBE:
            # A probe job's sub-tasks wait (PENDING, shown as PROCESSING) until planned.
            for sub in subtasks_of(task, job.subtasks):
                if sub.state is SubTaskState.PENDING:
                    move_subtask(sub, SubTaskState.RUNNING, now)
                    sub.job_id = job.id
