"""Turning executor events into state: progress, then one final result per job attempt.

An event applies only to the attempt it came from: the job must still be RUNNING and, when
the caller knows them, under the same ``attempt`` and lease ``owner``. Anything else is a
late event of an attempt the engine already gave up on and is ignored, so a result is never
applied twice and a task never finishes twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from reelflow.compat.outputs import output_item
from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.chunk_nodes import ChunkNodes
from reelflow.engine.chunk_parts import group_progress, part_of
from reelflow.engine.jobs import parse_job_id
from reelflow.engine.nodes import reads_source
from reelflow.engine.observers import Hooks, subtask_states
from reelflow.engine.outcomes import INTERNAL_ERROR, Outcomes, fail_subtasks
from reelflow.engine.planning import Planning
from reelflow.engine.stages import Rendition, Stages
from reelflow.engine.store import Store, lock_job, lock_jobs, subtasks_of
from reelflow.engine.throttle import ProgressThrottle
from reelflow.engine.transitions import move_job, move_subtask
from reelflow.specs.jobs import JobEvent, JobEventType, JobKind, JobPayload, JobResult
from reelflow.specs.outputs import AdaptiveStreamingResult, TranscodeResult
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import JobState, SubTaskState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    """A FINISHED ``event`` with the claim it comes from (``attempt`` and lease ``owner``,
    ``None`` when unknown: see ``JobEvents.handle``)."""

    event: JobEvent
    attempt: int | None = None
    owner: str | None = None


class JobEvents:
    """Applies what executors report, each event in one transaction of ``store``; progress
    is written only when it moved enough (``ProgressThrottle``)."""

    def __init__(self, store: Store, planning: Planning, outcomes: Outcomes, hooks: Hooks) -> None:
        self._store = store
        self._planning = planning
        self._outcomes = outcomes
        self._hooks = hooks
        self._stages = Stages(planning)
        self._chunks = ChunkNodes(planning, outcomes.leftover_grace)
        self._progress = ProgressThrottle()

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
        with self._store.write() as session:
            job = session.get(Job, job_id)
            if job is None or not self._is_current(job, attempt, owner):
                return False
            job.progress = value
            part = part_of(job)
            if part is not None:
                # A chunked output's progress: its parts' progress, each by its weight.
                session.flush()
                value = group_progress(session, job, part)
            if job.kind is not JobKind.PROBE:
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
        with self._store.write() as session:
            now = self._store.now()
            locked = lock_job(session, job_id)
            changed, added = self._finish(session, job_id, locked, result, attempt, owner, now)
        if added:
            self._hooks.jobs_added()
        return changed

    def finish_many(self, reports: Sequence[Report]) -> list[bool]:
        """Apply several FINISHED events in one transaction; returns, for each, whether it
        changed anything (as ``handle``).

        All or nothing: the jobs and their tasks are locked in three statements
        (``lock_jobs``), each result is applied as ``handle`` would, and one commit records
        them all. If the transaction fails (or the process dies before the commit), none is
        recorded and every job is still RUNNING under its lease, to be reported again or
        run again once the lease ends. Results of one task are applied in their order.
        """
        ids = [parse_job_id(report.event.job_id) for report in reports]
        known = [job_id for job_id in ids if job_id is not None]
        changed: list[bool] = []
        added = False
        try:
            with self._store.write() as session:
                now = self._store.now()
                locked = lock_jobs(session, known)
                for report, job_id in zip(reports, ids, strict=True):
                    if job_id is None:
                        logger.warning("event for unknown job id %r ignored", report.event.job_id)
                        changed.append(False)
                        continue
                    one, more = self._finish(
                        session,
                        job_id,
                        locked.get(job_id),
                        report.event.result,
                        report.attempt,
                        report.owner,
                        now,
                    )
                    changed.append(one)
                    added = added or more
        finally:
            for job_id in known:
                self._progress.forget(job_id)
        if added:
            self._hooks.jobs_added()
        return changed

    def _finish(
        self,
        session: Session,
        job_id: int,
        locked: tuple[Task, Job] | None,
        result: JobResult | None,
        attempt: int | None,
        owner: str | None,
        now: datetime,
    ) -> tuple[bool, bool]:
        """Apply a final result in ``session`` to the job ``locked`` (with its task; ``None``:
        unknown): (whether anything changed, whether the next stage of the task graph got
        jobs)."""
        if locked is None:
            logger.warning("result for unknown job %s ignored", job_id)
            return False, False
        task, job = locked
        if not self._is_current(job, attempt, owner):
            logger.info(
                "stale result for job %s ignored (job is %s, attempt %s, event attempt %s)",
                job_id,
                job.state,
                job.attempt,
                attempt,
            )
            return False, False
        if result is None:
            result = JobResult(
                job_id=str(job_id),
                ok=False,
                error_code=INTERNAL_ERROR,
                message="the executor reported the end of the job without a result",
            )
        before = subtask_states(task)
        made: dict[int, Rendition] = {}
        chunked = False
        if job.kind is JobKind.PROBE:
            self._probe_finished(session, task, job, result, now)
        elif job.kind is JobKind.CHUNK:
            chunked = self._chunk_finished(session, task, job, result, now)
        else:
            made = self._media_finished(task, job, result, now)
        added = self._stages.advance(session, task, now, made) or chunked
        self._hooks.subtasks_finished(session, task, before)
        self._outcomes.finish_task_if_done(session, task, now)
        return True, added

    def _probe_finished(
        self, session: Session, task: Task, job: Job, result: JobResult, now: datetime
    ) -> None:
        if result.ok and result.media_info is not None:
            move_job(job, JobState.SUCCEEDED, now)
            waiting = [
                sub for sub in subtasks_of(task, job.subtasks) if sub.state is SubTaskState.PENDING
            ]
            if reads_source(task, job):
                task.media_info = result.media_info.to_json()
                self._planning.plan_media(session, task, waiting, now)
            else:  # the probe of an upstream sub-task's output, for the sub-tasks reading it
                source = JobPayload.from_json(job.payload).source
                self._planning.plan_media(
                    session, task, waiting, now, source=source, info=result.media_info
                )
            return
        if result.ok:
            result = result.model_copy(
                update={
                    "ok": False,
                    "error_code": INTERNAL_ERROR,
                    "message": "the probe succeeded but reported no media info",
                }
            )
        self._outcomes.job_failed(
            task,
            job,
            code=result.error_code,
            message=result.message,
            retryable=result.retryable,
            now=now,
        )

    def _chunk_finished(
        self, session: Session, task: Task, job: Job, result: JobResult, now: datetime
    ) -> bool:
        """A part of a chunked group ended: plan what its success unblocks (the chunks, the
        join), or retry or fail it (failing for good fails the group, naming the chunk)."""
        if result.ok:
            return self._chunks.succeeded(session, task, job, result, now)
        self._outcomes.job_failed(
            task,
            job,
            code=result.error_code,
            message=result.message,
            retryable=result.retryable,
            now=now,
        )
        return False

    def _media_finished(
        self, task: Task, job: Job, result: JobResult, now: datetime
    ) -> dict[int, Rendition]:
        """Apply a media job's outcomes; returns the renditions that succeeded, by sub-task
        (what the next stage of the task graph reads)."""
        made: dict[int, Rendition] = {}
        subs = {sub.index: sub for sub in subtasks_of(task, job.subtasks)}
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
                # Stored as the compatible API's output item, the shape every reader shows.
                output = output_item(outcome.output)
                move_subtask(sub, SubTaskState.SUCCEEDED, now, output=output)
                if isinstance(outcome.output, AdaptiveStreamingResult) and outcome.output.quality:
                    # A ladder's rungs (SubTaskView.rung_quality reads them back).
                    rungs = [r.model_dump(mode="json") for r in outcome.output.quality]
                    sub.quality = {"rungs": rungs}
                if isinstance(outcome.output, TranscodeResult):
                    if outcome.output.quality is not None:
                        sub.quality = outcome.output.quality.model_dump(mode="json")
                    file = outcome.output.file
                    where = TaskSource(type="bucket", bucket=file.bucket, key=file.key)
                    made[sub.index] = Rendition(where, file.media)
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
            self._outcomes.job_failed(
                task,
                job,
                code=result.error_code,
                message=result.message,
                retryable=result.retryable,
                now=now,
            )
            return made
        move_job(job, JobState.SUCCEEDED, now)
        missing = [sub for sub in subs.values() if sub.state is SubTaskState.RUNNING]
        fail_subtasks(
            missing, INTERNAL_ERROR, "the job finished without a result for this sub-task", now
        )
        return made
