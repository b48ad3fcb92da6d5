"""The parts of a chunked group that ended without a join (docs/chunking.md, "Leftovers").

A join deletes its group's parts. A group that fails (a part failing for good) or is
cancelled is never joined, so its parts (chunk files in the scratch root, or temporary keys
of the output bucket) would stay forever. The engine records the need as a
``chunk_leftovers`` row in the very transaction that fails or cancels the group, as the
outbox records a notification; the scheduler's periodic pass (``Leftovers.sweep``) removes
the parts through the wiring's ``remove`` function and deletes the row only then. Removing
is idempotent (a missing part is no error), so a crash between the two repeats it.

A row waits ``grace`` (the lease length) before its first pass: a worker whose chunk was
cancelled learns it at its next heartbeat, and must not store its part after the removal.
Every generation of a group (each split: a task retried splits again) has its own prefix
(``reelflow.engine.chunking.generation_prefix``), so removing a failed attempt's parts never
touches a retry's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reelflow.db.models import ChunkLeftover, Job
from reelflow.engine.chunk_parts import part_of, split_id
from reelflow.engine.chunking import generation_prefix
from reelflow.engine.store import Store
from reelflow.specs.chunks import ChunkRole

log = logging.getLogger(__name__)

BATCH = 20  # rows per pass
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# Removes a group's parts: (bucket, prefix); bucket "" = the scratch root. Idempotent.
Remover = Callable[[str, str], None]


def record_leftover(session: Session, job: Job, now: datetime, grace: timedelta) -> bool:
    """Record that the parts of ``job``'s group generation must go (``job``: a part of a
    group that is failing or cancelled now); returns whether a row was added. A split that
    has not planned its chunks yet names its generation by its lead's id: the audio planned
    with it may have stored its part there."""
    part = part_of(job)
    if part is None:
        return False
    prefix = part.prefix
    if part.role is ChunkRole.SPLIT and not part.split:
        prefix = generation_prefix(part, split_id(job, part))
    known = select(ChunkLeftover.id).where(
        ChunkLeftover.bucket == part.bucket, ChunkLeftover.prefix == prefix
    )
    pending = any(
        isinstance(row, ChunkLeftover) and (row.bucket, row.prefix) == (part.bucket, prefix)
        for row in session.new
    )
    if pending or session.scalar(known) is not None:
        return False
    session.add(
        ChunkLeftover(
            task_id=job.task_id,
            bucket=part.bucket,
            prefix=prefix,
            attempts=0,
            not_before=now + grace,
            created_at=now,
        )
    )
    return True


class Leftovers:
    """``Leftovers(store)``: the scheduler's pass over recorded leftovers."""

    def __init__(self, store: Store, *, batch: int = BATCH) -> None:
        self._store = store
        self.batch = batch

    def sweep(self, remove: Remover) -> int:
        """Remove the parts of up to ``batch`` due rows; returns how many rows are done.
        A removal that fails is tried again later (backoff), never dropped."""
        with self._store.read() as session:
            due = select(ChunkLeftover.id, ChunkLeftover.bucket, ChunkLeftover.prefix).where(
                ChunkLeftover.not_before <= self._store.now()
            )
            rows = list(session.execute(due.order_by(ChunkLeftover.not_before).limit(self.batch)))
        done = 0
        for row_id, bucket, prefix in rows:
            try:
                remove(bucket, prefix)
            except Exception as exc:  # a bucket away, a permission: try again later
                log.warning("chunk parts %s%s not removed yet: %s", bucket, prefix, exc)
                self._later(row_id)
                continue
            with self._store.write() as session:
                session.execute(delete(ChunkLeftover).where(ChunkLeftover.id == row_id))
            done += 1
        return done

    def pending(self) -> int:
        """How many rows wait (tests, metrics)."""
        with self._store.read() as session:
            return len(list(session.scalars(select(ChunkLeftover.id))))

    def _later(self, row_id: int) -> None:
        with self._store.write() as session:
            row = session.get(ChunkLeftover, row_id)
            if row is None:
                return
            row.attempts += 1
            delay = min(RETRY_CAP, RETRY_BASE * 2 ** min(row.attempts - 1, 10))
            row.not_before = self._store.now() + delay


__all__ = ["Leftovers", "Remover", "record_leftover"]
