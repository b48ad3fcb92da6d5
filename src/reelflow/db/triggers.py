"""The trigger tables: which object versions started which workflow, which keys reelflow
writes itself, and how far each poller or watcher got. Migration 0004 creates them.

- ``TriggeredObject``: one row per (workflow, object version) that started a task, written in
  the transaction that creates the task. The unique ``(workflow_id, object_hash)`` is what
  makes "the same object version never starts the same workflow twice" hold across
  processes and restarts; ``object_hash`` is the SHA-256 of bucket, key and version (keys
  may be 1,024 bytes, too long for a portable unique index).
- ``OwnOutput``: every key a task will write, recorded when its media jobs are planned, i.e.
  before the object can exist. ``key`` may hold ``%d`` where a number goes (HLS segments).
  Triggers never fire on these keys (see ``docs/adr/0004-trigger-loop.md``).
- ``DeferredTrigger``: a (workflow or schedule, object version) whose task was refused by
  admission (the account had ``max_queued_tasks`` unfinished tasks); the trigger loop starts
  it once the account is under the limit, then deletes the row (migration 0010). Unique like
  ``TriggeredObject``, so a repeated notice defers once.
- ``TriggerCheckpoint``: per bucket, the S3 poller's floor and watermark (S3 times) or the
  folder watcher's last scan (local time).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from reelflow.db.models import Base


class TriggeredObject(Base):
    __tablename__ = "triggered_objects"
    __table_args__ = (Unique("workflow_id", "object_hash"), Index(None, "task_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int]
    bucket: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(1024))  # the ETag (content hash)
    object_hash: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class OwnOutput(Base):
    __tablename__ = "own_outputs"
    __table_args__ = (Index(None, "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)  # may contain "%d" (numbered files)
    key_hash: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class DeferredTrigger(Base):
    __tablename__ = "deferred_triggers"
    __table_args__ = (Unique("workflow_id", "object_hash"), Index(None, "account_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int]
    workflow_id: Mapped[int]  # or the schedule's id, ``schedule`` true
    schedule: Mapped[bool] = mapped_column(default=False)
    bucket: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(1024))
    object_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class TriggerCheckpoint(Base):
    __tablename__ = "trigger_checkpoints"

    bucket: Mapped[str] = mapped_column(String(255), primary_key=True)
    floor: Mapped[datetime | None]
    watermark: Mapped[datetime | None]
    updated_at: Mapped[datetime]
