"""The jobs of one chunked group, as rows: finding them, their progress, and what a failed
part does to the rest (``reelflow.engine.chunk_nodes`` plans them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelflow.db.models import Job
from reelflow.engine.chunking import CHUNK_FAILED, describe_part
from reelflow.engine.transitions import move_job
from reelflow.specs.chunks import ChunkedJob, ChunkRole
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import JobState

CHUNKED_KINDS = (JobKind.CHUNK, JobKind.JOIN)


def part_of(job: Job) -> ChunkedJob | None:
    """The job's part of its chunked group (``None`` for any other job); read from the
    payload's JSON without validating the rest of it."""
    if job.kind not in CHUNKED_KINDS:
        return None
    raw = job.payload.get("chunked")
    return ChunkedJob.model_validate(raw) if isinstance(raw, dict) else None


def split_id(job: Job, part: ChunkedJob) -> int:
    """The SPLIT job's id that names the group's current generation (of several split jobs,
    the first's: ``lead``)."""
    if part.role is ChunkRole.SPLIT:
        return part.lead or job.id
    return part.split


def siblings(session: Session, job: Job, part: ChunkedJob) -> list[tuple[Job, ChunkedJob]]:
    """Every job planned by the same split as ``job`` (itself included), in id order."""
    split = split_id(job, part)
    query = (
        select(Job).where(Job.task_id == job.task_id, Job.kind.in_(CHUNKED_KINDS)).order_by(Job.id)
    )
    found = []
    for other in session.scalars(query):
        other_part = part_of(other)
        if other_part is not None and split_id(other, other_part) == split:
            found.append((other, other_part))
    return found


def group_progress(session: Session, job: Job, part: ChunkedJob) -> float:
    """The group's progress (0..100): each part's progress times its weight."""
    done = 0.0
    for other, other_part in siblings(session, job, part):
        value = 100.0 if other.state is JobState.SUCCEEDED else other.progress
        done += other_part.weight * value
    return min(100.0, done)


def part_failure(
    session: Session, job: Job, code: str, message: str, now: datetime
) -> tuple[str, str]:
    """A part failed for good: the code and message its sub-tasks fail with (a chunk is
    named: ``FailedOperation.ChunkFailed``, "chunk 2 of 3 (4.00-6.00 s) ..."); every other
    unfinished part of the group is cancelled (its worker sees it at its next heartbeat),
    so no join is ever planned."""
    part = part_of(job)
    if part is None:
        return code, message
    others = siblings(session, job, part)
    count = sum(1 for _, p in others if p.role is part.role and p.chunk is not None)
    why = f"{describe_part(part, count)} failed after {job.attempt} attempt(s): {code}: {message}"
    for other, _ in others:
        if other.id != job.id and other.state in (JobState.QUEUED, JobState.RUNNING):
            move_job(other, JobState.CANCELLED, now, code=CHUNK_FAILED, message=why)
    if part.role in (ChunkRole.VIDEO, ChunkRole.PROBE):
        return CHUNK_FAILED, why
    return code, why


__all__ = ["CHUNKED_KINDS", "group_progress", "part_failure", "part_of", "siblings", "split_id"]
