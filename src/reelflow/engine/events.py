"""Turning executor events into state: progress, then one final result per job attempt.

An event applies only to the attempt it came from: the job must still be RUNNING and, when
the caller knows them, under the same ``attempt`` and lease ``owner``. Anything else is a
late event of an attempt the engine already gave up on and is ignored, so a result is never
applied twice and a task never finishes twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.core import INTERNAL_ERROR, EngineCore
from reelflow.engine.jobs import parse_job_id
from reelflow.engine.transitions import move_job, move_subtask
from reelflow.specs.jobs import JobEvent, JobEventType, JobKind, JobResult
from reelflow.specs.states import JobState, SubTaskState

logger = logging.getLogger(__name__)


class EventHandling(EngineCore):
    def handle(
        self, event: JobEvent, *, attempt: int | None = None, owner: str | None = None
    ) -> bool:
        """Apply ``event``; returns whether it changed anything.

        ``attempt`` and ``owner`` (the claim the event comes from, known to the scheduler)
        make the staleness check exact; without them only the job's state is checked.
        Safe to call from any thread.
        """
        job_id = parse_job_id(event.job_id)
        if job_id is None:
            logger.warning("event for unknown job id %r ignored", event.job_id)
            return False
        if event.type is JobEventType.PROGRESS:
            return self._on_progress(job_id, event.progress, attempt, owner)
        try:
            return self._on_finished(job_id, event.result, attempt, owner)
        finally:
            self._progress.forget(job_id)

    @staticmethod
    def _is_current(job: Job, attempt: int | None, owner: str | None) -> bool:
        return (
            job.state is JobState.RUNNING
            and (attempt is None or attempt == job.attempt)
            and (owner is None or owner == job.lease_owner)
        )

    # -- progress -------------------------------------------------------------------------

    def _on_progress(
        self, job_id: int, progress: float, attempt: int | None, owner: str | None
    ) -> bool:
        value = min(100.0, max(0.0, progress))
        if not self._progress.should_write(job_id, value):
            return False
        with self._write() as session:
            job = session.get(Job, job_id)
            if job is None or not self._is_current(job, attempt, owner):
                return False
            job.progress = value
            if job.kind is JobKind.MEDIA:
                session.execute(
                    update(SubTask)
                    .where(
                        SubTask.task_id == job.task_id,
                        SubTask.index.in_(job.subtasks),
                        SubTask.state == SubTaskState.RUNNING,
                    )
                    .values(progress=value)
                )
        return True

    # -- results --------------------------------------------------------------------------

    def _on_finished(
        self, job_id: int, result: JobResult | None, attempt: int | None, owner: str | None
    ) -> bool:
        with self._write() as session:
            now = self._now()
            locked = self._lock_job(session, job_id)
            if locked is None:
                logger.warning("result for unknown job %s ignored", job_id)
                return False
            task, job = locked
            if not self._is_current(job, attempt, owner):
                logger.info(
                    "stale result for job %s ignored (job is %s, attempt %s, event attempt %s)",
                    job_id,
                    job.state,
                    job.attempt,
                    attempt,
                )
                return False
            if result is None:
                result = JobResult(
                    job_id=str(job_id),
                    ok=False,
                    error_code=INTERNAL_ERROR,
                    message="the executor reported the end of the job without a result",
                )
            before = self._subtask_states(task)
            if job.kind is JobKind.PROBE:
                self._probe_finished(session, task, job, result, now)
            else:
                self._media_finished(task, job, result, now)
            self._on_subtasks_finished(session, task, before)
            self._finish_task_if_done(session, task, now)
            return True

    def _probe_finished(
        self, session: Session, task: Task, job: Job, result: JobResult, now: datetime
    ) -> None:
        if result.ok and result.media_info is not None:
            move_job(job, JobState.SUCCEEDED, now)
            task.media_info = result.media_info
            waiting = [
                sub
                for sub in self._subtasks_of(task, job.subtasks)
                if sub.state is SubTaskState.PENDING
            ]
            self._plan_media(session, task, waiting, now)
            return
        if result.ok:
            result = result.model_copy(
                update={
                    "ok": False,
                    "error_code": INTERNAL_ERROR,
                    "message": "the probe succeeded but reported no media info",
                }
            )
        self._job_failed(
            task,
            job,
            code=result.error_code,
            message=result.message,
            retryable=result.retryable,
            now=now,
        )

    def _media_finished(self, task: Task, job: Job, result: JobResult, now: datetime) -> None:
        subs = {sub.index: sub for sub in self._subtasks_of(task, job.subtasks)}
        for outcome in result.subtasks:
            sub = subs.get(outcome.index)
            if sub is None:
                logger.warning(
                    "job %s reported sub-task %s, which it does not serve", job.id, outcome.index
                )
                continue
            if sub.state is not SubTaskState.RUNNING:
                continue  # finished by an earlier attempt of this job
            if outcome.ok and outcome.output is not None:
                move_subtask(sub, SubTaskState.SUCCEEDED, now, output=outcome.output)
            elif outcome.ok:
                # Never report success without the output (seed: a missing result fails).
                move_subtask(
                    sub,
                    SubTaskState.FAILED,
                    now,
                    code=INTERNAL_ERROR,
                    message="the sub-task reported success without an output",
                )
            else:
                move_subtask(
                    sub,
                    SubTaskState.FAILED,
                    now,
                    code=outcome.error_code or INTERNAL_ERROR,
                    message=outcome.message,
                )
        if not result.ok:
            self._job_failed(
                task,
                job,
                code=result.error_code,
                message=result.message,
                retryable=result.retryable,
                now=now,
            )
            return
        move_job(job, JobState.SUCCEEDED, now)
        missing = [sub for sub in subs.values() if sub.state is SubTaskState.RUNNING]
        self._fail_subtasks(
            missing, INTERNAL_ERROR, "the job finished without a result for this sub-task", now
        )
