"""The nodes of a chunked group in the task graph: SPLIT -> [PROBE per chunk ->] VIDEO
chunks -> JOIN, and an AUDIO job beside them (planned with the split for transcodes, with
the chunks for a ladder); the join waits for the chunks and the audio.

Each node is a job row with its own lease, heartbeat, attempts and progress (so a killed
worker re-runs only its chunk: its lease expires and that job alone is requeued). The
engine plans the next nodes in the transaction that records a node's success, as
``reelflow.engine.stages`` does for stages: the chunks when the split succeeded, the join
when the last chunk (and the audio) did. Nothing waits in a broker for a callback. A part
failing for good fails the group's sub-tasks and cancels its other parts
(``reelflow.engine.chunk_parts.part_failure``); cancelling the task cancels every job, so
the join is never planned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from reelflow.catalog.triggered import record_keys
from reelflow.db.models import Job, Task
from reelflow.engine.chunk_parts import siblings, split_id
from reelflow.engine.chunking import (
    AUDIO_SHARE,
    CHUNK_FAILED,
    PROBE_SHARE,
    VIDEO_SHARE,
    generation_prefix,
    has_audio,
)
from reelflow.engine.leftovers import record_leftover
from reelflow.engine.outcomes import fail_subtasks
from reelflow.engine.planning import Planning
from reelflow.engine.store import subtasks_of
from reelflow.engine.transitions import move_job
from reelflow.media.chunks.plan import assemble_plan
from reelflow.media.chunks.rates import allocate, group_headroom
from reelflow.specs.chunks import (
    ChunkedJob,
    ChunkPlan,
    ChunkRole,
    SplitFound,
    ladder_part_name,
    part_name,
)
from reelflow.specs.jobs import JobKind, JobPayload, JobResult
from reelflow.specs.states import JobState
from reelflow.specs.works import LadderWork, TranscodeWork, Work

JOIN_SHARE = 1.0 - VIDEO_SHARE - AUDIO_SHARE


def longest_first(parts: list[ChunkedJob]) -> list[ChunkedJob]:
    """The parts of a group in the order their jobs are queued: by weight (their share of
    the group's work), largest first; equal weights in the plan's order. A few chunks of
    unequal length (borders moved to scene cuts) on a few workers otherwise end with one
    worker encoding a long chunk while the others wait. A ladder's audio (an eighteenth of
    the video's work) runs last with a few chunks, first with many; a transcode group's
    audio runs beside its split (``reelflow.engine.chunking.early_audio``)."""
    return sorted(parts, key=lambda part: -round(part.weight, 9))  # float noise: a tie


class ChunkNodes:
    """``ChunkNodes(planning, leftover_grace)``: moves chunked groups on, in the caller's
    transaction (``leftover_grace``: how long a part no longer wanted is left to its worker
    before it is removed)."""

    def __init__(self, planning: Planning, leftover_grace: timedelta) -> None:
        self._planning = planning
        self._grace = leftover_grace

    def succeeded(
        self, session: Session, task: Task, job: Job, result: JobResult, now: datetime
    ) -> bool:
        """Record a CHUNK job's success and plan what it unblocks; returns whether jobs
        were added."""
        move_job(job, JobState.SUCCEEDED, now)
        payload = JobPayload.from_json(job.payload)
        part = payload.chunked
        if part is None:
            return False
        if part.role is ChunkRole.SPLIT:
            if result.split_found is None:  # a ladder's split: the whole plan, one job
                return self._split(session, task, job, payload, part, result.chunk_plan, now)
            return self._maybe_plan(session, task, job, payload, part, result.split_found, now)
        if part.role is ChunkRole.PROBE:
            return self._maybe_encode(session, task, job, payload, part, result, now)
        return self._maybe_join(session, task, job, payload, part, now)

    def _maybe_plan(
        self,
        session: Session,
        task: Task,
        job: Job,
        payload: JobPayload,
        part: ChunkedJob,
        found: SplitFound,
        now: datetime,
    ) -> bool:
        """Keep what this split job found in its row; once every split job of the group has
        succeeded, plan the chunks from what they all found (the plan one split job over
        every boundary makes: ``assemble_plan``)."""
        splits = _recorded(session, job, part.model_copy(update={"found": found}))
        if splits is None:
            return False
        founds = [p.found for _, p in splits]
        lead_job, lead = splits[0]
        try:
            plan = assemble_plan([f for f in founds if f is not None], part.chunk_seconds)
        except ValueError as exc:
            why = f"the split jobs of this output disagree: {exc}"
            fail_subtasks(subtasks_of(task, job.subtasks), CHUNK_FAILED, why, now)
            return False
        return self._split(session, task, lead_job, payload, lead, plan, now)

    def _split(
        self,
        session: Session,
        task: Task,
        job: Job,
        payload: JobPayload,
        part: ChunkedJob,
        plan: ChunkPlan | None,
        now: datetime,
    ) -> bool:
        indices = list(job.subtasks)
        info = payload.media_info
        works = payload.works
        if plan is None or len(plan.chunks) < 2:
            # Shorter than it looked from the probe: one MEDIA job, as without chunking; the
            # audio planned with the split is not wanted (its part, if made, is removed).
            for other, other_part in siblings(session, job, part):
                if other_part.role is ChunkRole.AUDIO:
                    if other.state in (JobState.QUEUED, JobState.RUNNING):
                        why = "the source is too short to chunk: encoded whole"
                        move_job(other, JobState.CANCELLED, now, code=CHUNK_FAILED, message=why)
                    record_leftover(session, other, now, self._grace)
            added = self._planning.add_job(session, task, JobKind.MEDIA, indices, now, info, works)
            self._point(task, indices, added)
            return True
        prefix = generation_prefix(part, job.id)
        base = part.model_copy(
            update={"split": job.id, "prefix": prefix, "first_boundary": 1, "last_boundary": 0,
                    "lead": 0, "found": None}
        )  # fmt: skip
        if part.bucket:
            # Temporary keys of the output bucket: never a new upload for a trigger.
            name = ladder_part_name if isinstance(works[0], LadderWork) else part_name
            names = [name(None, w.index) for w in works]
            names += [name(c.index, w.index) for c in plan.chunks for w in works]
            keys = [(part.bucket, prefix + name) for name in names]
            record_keys(session, task.id, keys, now)
        if part.rates and group_headroom(_transcodes(works)) is not None:
            # The probes' share of the progress comes from the video's (``_encode``).
            probes = [
                base.model_copy(
                    update={"role": ChunkRole.PROBE, "chunk": chunk,
                            "weight": PROBE_SHARE * chunk.duration / plan.end}
                )
                for chunk in plan.chunks
            ]  # fmt: skip
            for chunked in longest_first(probes):
                self._planning.add_job(
                    session, task, JobKind.CHUNK, indices, now, info, works, chunked=chunked
                )
            return True
        return self._encode(session, task, job, payload, base, plan, now)

    def _maybe_encode(
        self,
        session: Session,
        task: Task,
        job: Job,
        payload: JobPayload,
        part: ChunkedJob,
        result: JobResult,
        now: datetime,
    ) -> bool:
        """Keep this probe's difficulty and cost in its row; once every probe of the group
        has succeeded, share the renditions' bitrate out over the chunks by their difficulty
        and plan the chunks (and the audio), weighed by their probes' costs."""
        found = {
            "difficulty": max(0.0, result.difficulty or 0.0),
            "cost": max(0.0, result.cost or 0.0),
        }
        probes = _recorded(session, job, part.model_copy(update=found))
        if probes is None:
            return False
        measured = sorted(
            (p for _, p in probes if p.chunk is not None),
            key=lambda p: p.chunk.index if p.chunk else 0,
        )
        chunks = [p.chunk for p in measured if p.chunk is not None]
        headroom = group_headroom(_transcodes(payload.works)) or 1.0
        factors = allocate([p.difficulty for p in measured], [c.duration for c in chunks], headroom)
        plan = ChunkPlan(chunk_seconds=part.chunk_seconds, end=chunks[-1].end, chunks=chunks)
        base = part.model_copy(update={"difficulty": 0.0, "cost": 0.0, "chunk": None})
        costs = [p.cost for p in measured]
        return self._encode(session, task, job, payload, base, plan, now, factors, costs)

    def _encode(
        self,
        session: Session,
        task: Task,
        job: Job,
        payload: JobPayload,
        base: ChunkedJob,
        plan: ChunkPlan,
        now: datetime,
        factors: list[float] | None = None,
        costs: list[float] | None = None,
    ) -> bool:
        """Plan the group's chunks (each at its rate factor: ``factors``, by chunk) and its
        audio, longest first. A chunk's weight (its share of the progress, and its place in
        the queue) is its share of the output's duration, or, when its probe ran, of the
        probes' ``costs``: a chunk of hard content at a high rate takes longer to encode
        than an easy one of the same length (bench (b): 0.6 to 1.2 s per second of source,
        about 20 times its probe's time)."""
        info = payload.media_info
        works = payload.works
        indices = list(job.subtasks)
        audio = has_audio(info, works)
        video_share = VIDEO_SHARE + (0.0 if audio else AUDIO_SHARE)
        video_share -= PROBE_SHARE if factors is not None else 0.0
        if costs is None or len(costs) != len(plan.chunks) or min(costs) <= 0:
            costs = [chunk.duration for chunk in plan.chunks]
        parts = [
            base.model_copy(
                update={"role": ChunkRole.VIDEO, "chunk": chunk,
                        "weight": video_share * costs[n] / sum(costs),
                        "rate_factor": factors[n] if factors is not None else 1.0}
            )
            for n, chunk in enumerate(plan.chunks)
        ]  # fmt: skip
        planned = any(p.role is ChunkRole.AUDIO for _, p in siblings(session, job, base))
        if audio and not planned:  # a ladder's (a transcode group's came with its split)
            parts.append(base.model_copy(update={"role": ChunkRole.AUDIO, "weight": AUDIO_SHARE}))
        # Longest first (the jobs are claimed in the order they are added): the last jobs to
        # start are the shortest, so the workers finish close together and the join waits
        # less for the last one. A weight is the part's share of the group's work.
        for chunked in longest_first(parts):
            self._planning.add_job(
                session, task, JobKind.CHUNK, indices, now, info, works, chunked=chunked
            )
        return True

    def _maybe_join(
        self,
        session: Session,
        task: Task,
        job: Job,
        payload: JobPayload,
        part: ChunkedJob,
        now: datetime,
    ) -> bool:
        parts = [
            (other, p)
            for other, p in siblings(session, job, part)
            if p.role in (ChunkRole.VIDEO, ChunkRole.AUDIO)
        ]
        if any(other.state is not JobState.SUCCEEDED for other, _ in parts):
            return False
        if not any(p.role is ChunkRole.VIDEO for _, p in parts):
            return False  # the audio, done before the chunks were planned
        chunks = sorted((p.chunk for _, p in parts if p.chunk is not None), key=lambda c: c.index)
        plan = ChunkPlan(chunk_seconds=part.chunk_seconds, end=chunks[-1].end, chunks=chunks)
        join = part.model_copy(
            update={
                "role": ChunkRole.JOIN,
                "split": split_id(job, part),
                "chunk": None,
                "plan": plan,
                "weight": JOIN_SHARE,
            }
        )
        indices = list(job.subtasks)
        added = self._planning.add_job(
            session, task, JobKind.JOIN, indices, now, payload.media_info, payload.works,
            chunked=join,
        )  # fmt: skip
        self._point(task, indices, added)
        return True

    @staticmethod
    def _point(task: Task, indices: list[int], job: Job) -> None:
        for sub in subtasks_of(task, indices):
            sub.job_id = job.id


def _recorded(session: Session, job: Job, part: ChunkedJob) -> list[tuple[Job, ChunkedJob]] | None:
    """Keep ``part`` (the job's, with what it found) in the job's row; once every part of
    the group in the same role (a split, a probe) has succeeded, those parts in id order
    (what each recorded), else ``None``: one still runs, and its own success comes back."""
    job.payload = {**job.payload, "chunked": part.model_dump(mode="json")}
    found = [
        (other, part if other.id == job.id else p)
        for other, p in siblings(session, job, part)
        if p.role is part.role
    ]
    if any(other.state is not JobState.SUCCEEDED for other, _ in found):
        return None
    return found


def _transcodes(works: list[Work]) -> list[TranscodeWork]:
    return [work for work in works if isinstance(work, TranscodeWork)]


__all__ = ["ChunkNodes"]
