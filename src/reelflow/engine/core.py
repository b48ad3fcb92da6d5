"""What every part of the engine shares: transactions, row locks, job creation, planning,
failing and finishing.

Lock order, so that two processes on PostgreSQL never deadlock: a transaction that changes a
task's sub-tasks or jobs first locks the task row, then the job rows. SQLite has one writer
at a time (``BEGIN IMMEDIATE``), so there the row locks compile to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.buckets import Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.triggered import record_outputs
from reelflow.config import Settings
from reelflow.db.models import Job, SubTask, Task
from reelflow.db.session import transaction
from reelflow.engine.observers import TaskObserver
from reelflow.engine.outages import decide as decide_outage
from reelflow.engine.outages import is_outage
from reelflow.engine.throttle import ProgressThrottle
from reelflow.engine.transitions import move_job, move_subtask, move_task
from reelflow.errors import ReelflowError
from reelflow.net.egress import EgressPolicy
from reelflow.planner.base import Plan, Planner
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import JobState, SubTaskState, TaskState
from reelflow.specs.subtasks import SubTaskSpec
from reelflow.specs.templates import TRUSTED

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

INTERNAL_ERROR = "InternalError"
# Retry delays grow 5 s, 10 s, 20 s ... up to 5 min: long enough for a storage hiccup to
# pass, short enough that a retried task still finishes in minutes.
RETRY_BASE = timedelta(seconds=5)
RETRY_CAP = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(UTC)


def retry_delay(attempt: int) -> timedelta:
    """How long a job waits before attempt ``attempt + 1`` (``attempt`` >= 1 just failed)."""
    delay: timedelta = RETRY_BASE * 2 ** max(0, attempt - 1)
    return min(delay, RETRY_CAP)


class EngineCore:
    """State shared by the engine's command groups (``tasks``, ``jobs``, ``events``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        planner: Planner,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        templates: Templates | None = None,
        buckets: Buckets | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._planner = planner
        self._settings = settings
        self._clock = clock
        self._progress = ProgressThrottle()
        # Told (after commit) that new jobs are queued: the scheduler wakes instead of
        # waiting for its next poll.
        self.on_jobs_added: Callable[[], None] | None = None
        # Told, inside the transaction, of task starts and ends (the notification outbox).
        self.observer: TaskObserver | None = None
        # Which templates and buckets each account may use (by default over the same database).
        self._templates = templates if templates is not None else Templates(sessions)
        self._buckets = buckets if buckets is not None else Buckets(sessions)
        # URL inputs and notification targets refused by their spelling fail at submission.
        self._egress = egress if egress is not None else EgressPolicy.from_settings(settings)

    def _jobs_added(self) -> None:
        if self.on_jobs_added is not None:
            self.on_jobs_added()

    # -- transactions and locks ---------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with transaction(self._sessions, write=True) as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with transaction(self._sessions, write=False) as session:
            yield session

    def _now(self) -> datetime:
        return self._clock()

    @staticmethod
    def _lock_task(session: Session, task_id: str, *, skip_locked: bool = False) -> Task | None:
        query = select(Task).where(Task.id == task_id)
        return session.scalars(query.with_for_update(skip_locked=skip_locked)).one_or_none()

    def _lock_job(
        self, session: Session, job_id: int, *, skip_locked: bool = False
    ) -> tuple[Task, Job] | None:
        """The job and its task, locked task first; ``None`` if unknown (or busy)."""
        task_id = session.scalar(select(Job.task_id).where(Job.id == job_id))
        if task_id is None:
            return None
        task = self._lock_task(session, task_id, skip_locked=skip_locked)
        if task is None:
            return None
        query = select(Job).where(Job.id == job_id).with_for_update(skip_locked=skip_locked)
        job = session.scalars(query).one_or_none()
        return None if job is None else (task, job)

    @staticmethod
    def _subtasks_of(task: Task, indices: Iterable[int]) -> list[SubTask]:
        wanted = set(indices)
        return [sub for sub in task.subtasks if sub.index in wanted]

    # -- creating jobs --------------------------------------------------------------------

    def _add_job(
        self,
        session: Session,
        task: Task,
        kind: JobKind,
        indices: Sequence[int],
        now: datetime,
        *,
        works: Sequence[dict[str, Any]] = (),
    ) -> Job:
        job = Job(
            task_id=task.id,
            kind=kind,
            state=JobState.QUEUED,
            priority=task.priority,
            payload={},
            subtasks=sorted(indices),
            attempt=0,
            max_attempts=self._settings.max_attempts,
            not_before=now,
            progress=0.0,
            err_code="",
            message="",
            created_at=now,
        )
        session.add(job)
        session.flush()  # the payload names the job: it needs the id
        job.payload = JobPayload(
            job_id=str(job.id),
            task_id=task.id,
            kind=kind,
            source=TaskSource.model_validate(task.source),
            media_info=task.media_info if kind is JobKind.MEDIA else None,
            works=list(works),
            video_preset=self._settings.video_preset,
            timeout=self._settings.job_timeout,
        ).model_dump(mode="json")
        return job

    def _add_probe_job(
        self, session: Session, task: Task, indices: Sequence[int], now: datetime
    ) -> Job:
        return self._add_job(session, task, JobKind.PROBE, indices, now)

    def _plan_media(
        self, session: Session, task: Task, subs: Sequence[SubTask], now: datetime
    ) -> None:
        """Plan MEDIA jobs for ``subs`` (all PENDING, media_info known); fail rejected ones."""
        if task.media_info is None:
            raise ValueError(f"task {task.id}: cannot plan before the source is probed")
        specs = [SubTaskSpec.model_validate(sub.spec, context=TRUSTED) for sub in subs]
        name = TaskSource.model_validate(task.source).name
        try:
            plan = self._planner.plan(specs, task.media_info, name)
        except ReelflowError as exc:
            self._fail_subtasks(subs, exc.code, exc.message, now)
            return
        except Exception as exc:
            # The planner is a plug-in: a bug in it must fail these sub-tasks, loudly, rather
            # than roll back and leave the probe job to be retried forever.
            logger.exception("planner failed for task %s", task.id)
            self._fail_subtasks(subs, INTERNAL_ERROR, f"planning failed: {exc}", now)
            return
        problem = _plan_problem(plan, {sub.index for sub in subs})
        if problem:
            logger.error("invalid plan for task %s: %s", task.id, problem)
            self._fail_subtasks(subs, INTERNAL_ERROR, f"invalid plan: {problem}", now)
            return
        by_index = {sub.index: sub for sub in subs}
        for rejection in plan.rejected:
            move_subtask(
                by_index[rejection.index],
                SubTaskState.FAILED,
                now,
                code=rejection.code or INTERNAL_ERROR,
                message=rejection.message,
            )
        # Before any job can run: triggers must know these keys as reelflow's own.
        record_outputs(session, task.id, [w for p in plan.jobs for w in p.works], now)
        for planned in plan.jobs:
            job = self._add_job(
                session, task, JobKind.MEDIA, planned.subtasks, now, works=planned.works
            )
            for index in planned.subtasks:
                by_index[index].job_id = job.id

    # -- failing and finishing ------------------------------------------------------------

    @staticmethod
    def _fail_subtasks(subs: Iterable[SubTask], code: str, message: str, now: datetime) -> None:
        for sub in subs:
            if not sub.state.is_terminal:
                move_subtask(
                    sub, SubTaskState.FAILED, now, code=code or INTERNAL_ERROR, message=message
                )

    def _job_failed(
        self,
        task: Task,
        job: Job,
        *,
        code: str,
        message: str,
        retryable: bool,
        now: datetime,
    ) -> None:
        """A RUNNING job failed as a whole: requeue it with backoff if it may be tried again,
        else fail it and its unfinished sub-tasks (a probe failure is the task's own error).

        An outage (a dependency was away, see ``reelflow.engine.outages``) is retried within
        the outage budget without using up an attempt; any other failure ends the job's
        outage and counts against ``max_attempts``.
        """
        code = code or INTERNAL_ERROR
        unfinished = [
            sub for sub in self._subtasks_of(task, job.subtasks) if not sub.state.is_terminal
        ]
        if retryable and unfinished and is_outage(code):
            budget = self._settings.outage_budget_seconds
            decision = decide_outage(job.outage_since, now, budget, message)
            job.outage_since = decision.since
            if decision.retry_in is not None:
                job.max_attempts += 1  # not the job's fault: the attempt is not counted
                self._requeue(task, job, now, delay=decision.retry_in, code=code, message=message)
                return
            message = decision.message
        else:
            job.outage_since = None
            if retryable and unfinished and job.attempt < job.max_attempts:
                self._requeue(
                    task, job, now, delay=retry_delay(job.attempt), code=code, message=message
                )
                return
        move_job(job, JobState.FAILED, now, code=code, message=message)
        self._fail_subtasks(unfinished, code, message, now)
        if job.kind is JobKind.PROBE:
            task.err_code = code
            task.message = message

    def _requeue(
        self,
        task: Task,
        job: Job,
        now: datetime,
        *,
        delay: timedelta,
        code: str = "",
        message: str = "",
    ) -> None:
        """Put a RUNNING job back in the queue; its running sub-tasks wait again."""
        move_job(job, JobState.QUEUED, now, code=code, message=message)
        job.not_before = now + delay
        for sub in self._subtasks_of(task, job.subtasks):
            if sub.state is SubTaskState.RUNNING:
                move_subtask(sub, SubTaskState.PENDING, now)

    def _finish_task_if_done(self, session: Session, task: Task, now: datetime) -> bool:
        """Finish ``task`` once every sub-task is final: SUCCEEDED only if all succeeded."""
        if task.state.is_terminal or not all(sub.state.is_terminal for sub in task.subtasks):
            return False
        ok = all(sub.state is SubTaskState.SUCCEEDED for sub in task.subtasks)
        move_task(
            task,
            TaskState.SUCCEEDED if ok else TaskState.FAILED,
            now,
            code=task.err_code,
            message=task.message,
        )
        self._on_task_finished(session, task)
        return True

    def _on_task_finished(self, session: Session, task: Task) -> None:
        """Hook: called inside the transaction that finished ``task`` (succeeded, failed or
        cancelled), exactly once per run. The notification outbox writes its event row here,
        so the event is committed if and only if the state change is.
        """
        if self.observer is not None:
            self.observer.task_finished(session, task)

    def _on_task_started(self, session: Session, task: Task) -> None:
        """Hook: ``task`` moved from queued to running in this transaction."""
        if self.observer is not None:
            self.observer.task_started(session, task)

    def _on_subtasks_finished(
        self, session: Session, task: Task, before: dict[int, SubTaskState]
    ) -> None:
        """Hook: tell the observer which sub-tasks became final since ``before`` (their
        states at the start of this transaction)."""
        if self.observer is None:
            return
        done = [
            sub
            for sub in task.subtasks
            if sub.state.is_terminal and before.get(sub.index) is not sub.state
        ]
        if done:
            self.observer.subtasks_finished(session, task, done)

    @staticmethod
    def _subtask_states(task: Task) -> dict[int, SubTaskState]:
        return {sub.index: sub.state for sub in task.subtasks}


def _plan_problem(plan: Plan, indices: set[int]) -> str:
    """Why ``plan`` does not cover ``indices`` exactly once each ("" if it does)."""
    seen: list[int] = [r.index for r in plan.rejected]
    for job in plan.jobs:
        if not job.subtasks:
            return "a planned job serves no sub-task"
        seen.extend(job.subtasks)
    unknown = sorted(set(seen) - indices)
    if unknown:
        return f"sub-tasks {unknown} were not asked for"
    if len(seen) != len(set(seen)):
        return "a sub-task is planned twice"
    missing = sorted(indices - set(seen))
    if missing:
        return f"sub-tasks {missing} were left unplanned"
    return ""
