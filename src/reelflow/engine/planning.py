"""Creating jobs: the PROBE job of a task, and the MEDIA jobs the planner makes of its
sub-tasks once the source is probed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from reelflow.catalog.triggered import record_keys, record_outputs
from reelflow.config import Settings
from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.chunking import Groups, chunk_groups, early_audio, split_of, split_parts
from reelflow.engine.outcomes import INTERNAL_ERROR, fail_subtasks
from reelflow.engine.transitions import move_subtask
from reelflow.errors import ReelflowError
from reelflow.planner.base import Plan, Planner
from reelflow.specs.chunks import ChunkedJob, part_name
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import JobState, SubTaskState
from reelflow.specs.subtasks import SubTaskSpec
from reelflow.specs.templates import TRUSTED
from reelflow.specs.works import Work

logger = logging.getLogger(__name__)

# A new job row, returned as the session's object (one statement, compiled once).
_INSERT_JOB = insert(Job).returning(Job)


class Planning:
    """``Planning(planner, settings)``: adds jobs to a task in the caller's transaction;
    each job's payload carries the settings it runs with."""

    def __init__(self, planner: Planner, settings: Settings) -> None:
        self._planner = planner
        self._settings = settings

    def add_probe_job(
        self,
        session: Session,
        task: Task,
        indices: Sequence[int],
        now: datetime,
        *,
        source: TaskSource | None = None,
    ) -> Job:
        """Queue the PROBE job of ``task``'s sub-tasks ``indices``: of the task's source, or
        of ``source`` (an upstream sub-task's output that they read)."""
        return self.add_job(session, task, JobKind.PROBE, indices, now, None, (), source)

    def plan_media(
        self,
        session: Session,
        task: Task,
        subs: Sequence[SubTask],
        now: datetime,
        *,
        source: TaskSource | None = None,
        info: MediaInfo | None = None,
    ) -> None:
        """Plan MEDIA jobs for ``subs`` (all PENDING) reading the task's source (its
        media_info known), or ``source`` probed as ``info`` (an upstream sub-task's output);
        fail rejected ones."""
        if source is None or info is None:
            if task.media_info is None:
                raise ValueError(f"task {task.id}: cannot plan before the source is probed")
            info = MediaInfo.from_json(task.media_info)
            source = None
        specs = [SubTaskSpec.model_validate(sub.spec, context=TRUSTED) for sub in subs]
        name = TaskSource.model_validate(task.source).name
        try:
            plan = self._planner.plan(specs, info, name)
        except ReelflowError as exc:
            fail_subtasks(subs, exc.code, exc.message, now)
            return
        except Exception as exc:
            # The planner is a plug-in: a bug in it must fail these sub-tasks, loudly, rather
            # than roll back and leave the probe job to be retried forever.
            logger.exception("planner failed for task %s", task.id)
            fail_subtasks(subs, INTERNAL_ERROR, f"planning failed: {exc}", now)
            return
        problem = _plan_problem(plan, {sub.index for sub in subs})
        if problem:
            logger.error("invalid plan for task %s: %s", task.id, problem)
            fail_subtasks(subs, INTERNAL_ERROR, f"invalid plan: {problem}", now)
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
            # A long source's renditions are chunked (reelflow.engine.chunking) when they
            # read the task's source; the rest of the job runs as one MEDIA job.
            split = chunk_groups(planned.works, info, self._settings)
            if source is not None or not split.groups:
                split = Groups([], list(planned.works))
            chunked: set[int] = set()
            for group in split.groups:
                indices = [work.index for work in group]
                lead: Job | None = None
                for ranged in split_parts(task.id, group, info, self._settings):
                    # The others name the first: one generation of the group.
                    part = ranged.model_copy(update={"lead": lead.id}) if lead else ranged
                    job = self.add_job(
                        session, task, JobKind.CHUNK, indices, now, info, group, chunked=part
                    )
                    lead = lead or job
                assert lead is not None
                audio = early_audio(split_of(task.id, group, self._settings), lead.id, group, info)
                if audio is not None:
                    if audio.bucket:  # temporary keys: never a new upload for a trigger
                        names = [part_name(None, work.index) for work in group]
                        keys = [(audio.bucket, audio.prefix + name) for name in names]
                        record_keys(session, task.id, keys, now)
                    self.add_job(
                        session, task, JobKind.CHUNK, indices, now, info, group, chunked=audio
                    )
                for index in indices:
                    by_index[index].job_id = lead.id
                chunked.update(indices)
            rest = [index for index in planned.subtasks if index not in chunked]
            if rest:
                job = self.add_job(
                    session, task, JobKind.MEDIA, rest, now, info, split.rest, source
                )
                for index in rest:
                    by_index[index].job_id = job.id

    def add_job(
        self,
        session: Session,
        task: Task,
        kind: JobKind,
        indices: Sequence[int],
        now: datetime,
        info: MediaInfo | None,
        works: Sequence[Work],
        source: TaskSource | None = None,
        *,
        chunked: ChunkedJob | None = None,
    ) -> Job:
        """Queue a job of ``kind`` for sub-tasks ``indices`` (``chunked``: its part of a
        chunked group)."""
        # The payload is written with the row (one INSERT, no UPDATE after it): its
        # ``job_id`` is left empty here and filled in by each claim from the row's id, as
        # ``attempt`` and ``owner`` are (``reelflow.engine.claims``).
        payload = JobPayload(
            job_id="",
            task_id=task.id,
            kind=kind,
            source=source or TaskSource.model_validate(task.source),
            media_info=info,
            works=list(works),
            video_preset=self._settings.video_preset,
            ffmpeg_threads=self._settings.ffmpeg_threads,
            timeout=self._settings.job_timeout,
            chunked=chunked,
        )
        values = {
            "task_id": task.id,
            "account_id": task.account_id or 0,
            "kind": kind,
            "state": JobState.QUEUED,
            "priority": task.priority,
            "payload": payload.to_json(),
            "subtasks": sorted(indices),
            "attempt": 0,
            "max_attempts": self._settings.max_attempts,
            "not_before": now,
            "progress": 0.0,
            "err_code": "",
            "message": "",
            "created_at": now,
        }
        # One INSERT ... RETURNING, without flushing the rest of the transaction first: the
        # other changes (the finished job, its task, sub-tasks) are written together at the
        # commit, several results' in one statement each (``JobEvents.finish_many``).
        # (A task being submitted is not in the database yet: it is flushed first.)
        if inspect(task).pending:
            session.flush()
        with session.no_autoflush:
            job = session.scalars(_INSERT_JOB, [values]).one()
        return job


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
