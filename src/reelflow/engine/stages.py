"""The stages of a task graph: a sub-task that reads another's output waits for it.

A sub-task whose ``SubTaskSpec.upstream`` is set stays PENDING, in no job, until that
upstream sub-task SUCCEEDED; then, in the transaction that recorded the upstream's success,
it is planned with every sibling reading the same output (one fused job, reading the
rendition from its bucket: the bucket's own file when its objects are local files; else,
on the machine that made it, the copy that job kept in the source cache; elsewhere a
fetch). Its upstream failing (or cancelled) fails it at once with
``FailedOperation.UpstreamFailed``, and so on down the graph. Because all of this happens in
the engine's own transactions, a server killed between stages finds the next stage's jobs
(or its waiting sub-tasks) in the database and goes on from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.nodes import fail_dependents, fail_dependents_of, has_stages, upstream_of
from reelflow.engine.planning import Planning
from reelflow.specs.jobs import JobPayload
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import SubTaskState
from reelflow.specs.works import TranscodeWork


@dataclass(frozen=True)
class Rendition:
    """What an upstream sub-task made, for the sub-tasks that read it: where it is stored
    and (when the job measured it) what it is."""

    source: TaskSource
    info: MediaInfo | None = None


class Stages:
    """``Stages(planning)``: moves a task's graph on, in the caller's transaction."""

    def __init__(self, planning: Planning) -> None:
        self._planning = planning

    def advance(
        self,
        session: Session,
        task: Task,
        now: datetime,
        made: Mapping[int, Rendition] | None = None,
    ) -> bool:
        """Fail the dependents of failed sub-tasks, plan those whose upstream succeeded
        (``made``: renditions just reported, with their probe); returns whether jobs were
        added. Nothing happens for a task without stages."""
        if not has_stages(task):
            return False
        by_index = {sub.index: sub for sub in task.subtasks}
        fail_dependents(by_index, now)
        ready: dict[int, list[SubTask]] = {}
        for sub in task.subtasks:
            up = upstream_of(sub)
            if up is None or sub.state is not SubTaskState.PENDING or sub.job_id is not None:
                continue
            if by_index[up].state is SubTaskState.SUCCEEDED:
                ready.setdefault(up, []).append(sub)
        for up, subs in ready.items():
            rendition = (made or {}).get(up) or stored_rendition(session, by_index[up])
            if rendition is None:
                fail_dependents_of(
                    subs, by_index[up], now, "its output is no longer known to the engine"
                )
            elif rendition.info is None:
                job = self._planning.add_probe_job(
                    session, task, [sub.index for sub in subs], now, source=rendition.source
                )
                for sub in subs:
                    sub.job_id = job.id
            else:
                self._planning.plan_media(
                    session, task, subs, now, source=rendition.source, info=rendition.info
                )
        # A rejected sub-task (planning) may have dependents of its own.
        fail_dependents(by_index, now)
        return bool(ready)


def stored_rendition(session: Session, upstream: SubTask) -> Rendition | None:
    """Where the SUCCEEDED ``upstream`` stored its rendition, from the job that made it (its
    probe is not kept: the readers' probe job measures it again)."""
    job = session.get(Job, upstream.job_id) if upstream.job_id is not None else None
    if job is None:
        return None
    for work in JobPayload.from_json(job.payload).works:
        if isinstance(work, TranscodeWork) and work.index == upstream.index:
            return Rendition(TaskSource(type="bucket", bucket=work.bucket, key=work.key))
    return None
