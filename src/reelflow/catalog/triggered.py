"""The trigger ledger: the started (workflow, object version) pairs, the
keys reelflow writes itself, and the checkpoints of pollers and watchers.

Rules kept here (the why is in ``docs/adr/0004-trigger-loop.md``):

* **Dedupe.** A :class:`TriggerKey` names one version (the ETag: a content hash) of one
  object for one workflow. ``Engine.submit(..., trigger_key=k)`` writes it in the transaction
  that creates the task, under a unique constraint, so a second submit with the same key
  returns the first task instead, from any process and after any restart.
* **No loops.** Every key a task will write is recorded when its media jobs are planned,
  before FFmpeg runs, so before the object can appear. Triggers ask :meth:`is_own_output`
  and never fire on such a key. Numbered files (HLS segments, ``%d``) match by pattern.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.session import transaction
from reelflow.db.triggers import OwnOutput, TriggerCheckpoint, TriggeredObject
from reelflow.specs.works import Work

_DIGITS = re.compile(r"\d+")
# Fields of a planned work (``specs.works``) that name objects it writes.
_KEY_FIELDS = ("key", "vtt_key", "segment_key_pattern", "hls_init_key")
_KEYS_FIELDS = ("keys",)
_BATCH = 500  # bound parameters per query (SQLite allows 999 in old builds)


@dataclass(frozen=True)
class TriggerKey:
    """One object version for one workflow (or, ``schedule`` true, one schedule: then
    ``workflow_id`` is the schedule's id): at most one task ever starts for it."""

    workflow_id: int
    bucket: str
    key: str
    version: str
    schedule: bool = False

    @property
    def object_hash(self) -> str:
        # Schedules have their own ids: their hashes differ from any workflow's, so the
        # ledger's (workflow_id, object_hash) stays unique across both.
        kind = "schedule\0" if self.schedule else ""
        raw = f"{kind}{self.bucket}\0{self.key}\0{self.version}".encode()
        return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """How far a poller or watcher got in one bucket (times are aware UTC)."""

    floor: datetime | None
    watermark: datetime | None


def _key_hash(bucket: str, key: str) -> str:
    return hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()


def output_patterns(key: str) -> list[str]:
    """``key`` and each form of it with one run of digits in its file name read as ``%d``.

    ``up/a_7_12.ts`` -> ``up/a_7_12.ts``, ``up/a_%d_12.ts``, ``up/a_7_%d.ts``: the recorded
    pattern of a numbered output is one of these.
    """
    folder, slash, name = key.rpartition("/")
    forms = [key]
    for match in _DIGITS.finditer(name):
        forms.append(f"{folder}{slash}{name[: match.start()]}%d{name[match.end() :]}")
    return forms


def planned_keys(works: Iterable[Work]) -> list[tuple[str, str]]:
    """(bucket, key) of every object the planned works will write."""
    found: list[tuple[str, str]] = []
    for work in works:
        for field in _KEY_FIELDS:
            value = getattr(work, field, "")
            if value:
                found.append((work.bucket, value))
        for field in _KEYS_FIELDS:
            found.extend((work.bucket, v) for v in getattr(work, field, ()) if v)
    return found


# -- inside the engine's transactions --------------------------------------------------------


def triggered_task(session: Session, key: TriggerKey) -> str | None:
    """The task a trigger key already started, if any."""
    query = select(TriggeredObject.task_id).where(
        TriggeredObject.workflow_id == key.workflow_id,
        TriggeredObject.object_hash == key.object_hash,
    )
    return session.scalar(query)


def record_trigger(session: Session, key: TriggerKey, task_id: str, now: datetime) -> None:
    session.add(
        TriggeredObject(
            workflow_id=key.workflow_id,
            bucket=key.bucket,
            key=key.key,
            version=key.version,
            object_hash=key.object_hash,
            task_id=task_id,
            created_at=now,
        )
    )


def record_outputs(session: Session, task_id: str, works: Sequence[Work], now: datetime) -> None:
    """Remember every key ``works`` will write (once per key: re-planning adds nothing)."""
    record_keys(session, task_id, planned_keys(works), now)


def record_keys(
    session: Session, task_id: str, keys: Iterable[tuple[str, str]], now: datetime
) -> None:
    """Remember the ``(bucket, key)`` pairs a task will write (once per key), so that
    triggers never take them for new uploads: outputs, and temporary keys (chunk parts)."""
    wanted = {_key_hash(b, k): (b, k) for b, k in keys if b}
    digests = list(wanted)
    known: set[str] = set()
    # Those recorded in this transaction and not flushed yet are among the session's new
    # objects: no flush of the whole transaction for this read.
    known.update(obj.key_hash for obj in session.new if isinstance(obj, OwnOutput))
    with session.no_autoflush:
        for start in range(0, len(digests), _BATCH):  # a long sampled task names thousands
            batch = digests[start : start + _BATCH]
            known.update(
                session.scalars(select(OwnOutput.key_hash).where(OwnOutput.key_hash.in_(batch)))
            )
    for digest, (bucket, key) in wanted.items():
        if digest not in known:
            session.add(
                OwnOutput(bucket=bucket, key=key, key_hash=digest, task_id=task_id, created_at=now)
            )


# -- the service triggers use ----------------------------------------------------------------


class TriggerLedger:
    """``TriggerLedger(sessions)``: reads of the ledger and the checkpoints; every method is
    one transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    def is_own_output(self, bucket: str, key: str) -> bool:
        """Whether reelflow planned to write ``key`` in ``bucket`` (as a task's output)."""
        hashes = [_key_hash(bucket, form) for form in output_patterns(key)]
        query = select(OwnOutput.bucket, OwnOutput.key).where(OwnOutput.key_hash.in_(hashes))
        with transaction(self._sessions, write=False) as session:
            rows = session.execute(query).all()
        forms = set(output_patterns(key))
        return any(b == bucket and k in forms for b, k in rows)

    def checkpoint(self, bucket: str) -> Checkpoint | None:
        with transaction(self._sessions, write=False) as session:
            row = session.get(TriggerCheckpoint, bucket)
            return None if row is None else Checkpoint(row.floor, row.watermark)

    def save_checkpoint(self, bucket: str, checkpoint: Checkpoint) -> None:
        with transaction(self._sessions, write=True) as session:
            row = session.get(TriggerCheckpoint, bucket)
            if row is None:
                row = TriggerCheckpoint(bucket=bucket, updated_at=self._clock())
                session.add(row)
            row.floor = checkpoint.floor
            row.watermark = checkpoint.watermark
            row.updated_at = self._clock()
