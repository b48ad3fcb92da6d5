"""The tables: tasks, their sub-tasks, the jobs that run them; accounts, their API keys,
buckets, custom templates and workflows.

Contracts kept by every column here:
- times are timezone-aware UTC in Python; they are stored as UTC (SQLite keeps no zone, so
  values read back are naive and are made UTC again on read);
- states and kinds are ``StrEnum`` members in Python, their lowercase values in the table;
- JSON columns hold plain JSON (``Spec.to_json()``, ``JobPayload.model_dump(mode="json")``)
  and are replaced, never mutated in place (SQLAlchemy does not track in-place changes).

Only ``reelflow.engine`` writes these rows; the notification outbox is in ``db.notify``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    String,
    Text,
)
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from reelflow.presets.catalog import CUSTOM_ID_START
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import JobState, SubTaskState, TaskState
from reelflow.specs.subtasks import SubTaskKind
from reelflow.specs.templates import TemplateKind

# Stable constraint names: migrations (and SQLite's batch mode) refer to them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

E = TypeVar("E", bound=StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime``; naive values are refused on write (they are always bugs)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: reelflow stores aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[E], Generic[E]):
    """A ``StrEnum`` stored as its value in a VARCHAR (no database enum type to migrate)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[E], length: int = 16) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_cls(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[int]: JSON}


class Task(Base):
    """One source file and everything to do with it; ``id`` is ``rf-<uuid hex>``."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(None, "state", "created_at"),
        Index(None, "session_id"),
        Index(None, "workflow_id"),
        # An account's tasks newest first, in the lists' exact order (keyset pages).
        Index(None, "account_id", "created_at", "id"),
        # The same in one state: admission counts an account's unfinished tasks as one range
        # (reelflow.engine.admission), the dashboard its tasks by state, lists filter by state.
        Index(None, "account_id", "state", "created_at", "id"),
        # Retention finds the oldest finished tasks (reelflow.engine.retention).
        Index(None, "finished_at"),
        # The dashboard's finished tasks per hour and state, from the index alone.
        Index(None, "account_id", "finished_at", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The owner; NULL for a task of an internal caller (``reelflow process``). No foreign key:
    # adding one to an existing SQLite table means rebuilding it, and accounts are never
    # deleted.
    account_id: Mapped[int | None]
    state: Mapped[TaskState] = mapped_column(EnumText(TaskState))
    priority: Mapped[int] = mapped_column(default=0)
    workflow_id: Mapped[int | None]
    session_id: Mapped[str] = mapped_column(String(50), default="")
    session_context: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[dict[str, Any]]  # TaskRequest.to_json()
    source: Mapped[dict[str, Any]]  # TaskSource.to_json()
    media_info: Mapped[dict[str, Any] | None]  # the probe, once known
    err_code: Mapped[str] = mapped_column(String(64), default="")  # source-level failure only
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    subtasks: Mapped[list[SubTask]] = relationship(
        back_populates="task", order_by="SubTask.index", cascade="all, delete-orphan"
    )


class SubTask(Base):
    """One unit of work the client asked for (a transcode, a sprite...), whatever job runs it."""

    __tablename__ = "subtasks"
    __table_args__ = (Unique("task_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    index: Mapped[int]
    kind: Mapped[SubTaskKind] = mapped_column(EnumText(SubTaskKind, 32))
    state: Mapped[SubTaskState] = mapped_column(EnumText(SubTaskState))
    progress: Mapped[float] = mapped_column(default=0.0)
    err_code: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]]  # SubTaskSpec.to_json()
    output: Mapped[dict[str, Any] | None]  # the API's output item, set on success only
    # A scored rendition's QualityScore JSON (native only: never part of ``output``).
    quality: Mapped[dict[str, Any] | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship(back_populates="subtasks")


class Job(Base):
    """One physical unit of execution: a probe, or one FFmpeg run serving some sub-tasks.

    ``attempt`` counts claims and is never decreased: it is the fencing token that tells a
    late event of an earlier claim from the current one. ``subtasks`` lists the indices of
    the sub-tasks the job serves. ``outage_since`` is when the job's current outage began
    (its failures since then were a dependency being away), else ``None``.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "task_id"),
        # The lease sweep: RUNNING jobs whose lease ended.
        Index(None, "state", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    # The task's account (0: an internal caller's task), repeated so that claims find each
    # account's ready jobs by index (the fair share, docs/scheduling.md).
    account_id: Mapped[int] = mapped_column(default=0, server_default="0")
    kind: Mapped[JobKind] = mapped_column(EnumText(JobKind))
    state: Mapped[JobState] = mapped_column(EnumText(JobState))
    priority: Mapped[int] = mapped_column(default=0)
    payload: Mapped[dict[str, Any]]  # JobPayload.to_json(); job_id, attempt, owner set by a claim
    subtasks: Mapped[list[int]]
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    not_before: Mapped[datetime]
    outage_since: Mapped[datetime | None]
    progress: Mapped[float] = mapped_column(default=0.0)
    err_code: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship()


# The claim: one account's ready jobs in exactly the order they are served (priority, then
# age), so a claim reads its few head rows whatever the depth of the queue; and the
# accounts with ready jobs, found by skipping along its first two columns.
Index("ix_jobs_claim", Job.state, Job.account_id, Job.priority.desc(), Job.created_at, Job.id)


class Account(Base):
    """Who owns workflows, templates, tasks and buckets; reached through its API keys."""

    __tablename__ = "accounts"
    __table_args__ = (Unique("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class ApiKey(Base):
    """A SecretId/SecretKey pair. ``secret_key`` is kept (TC3 signatures need it); bearer
    authentication looks a key up by ``secret_hash``.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Unique("secret_id"), Index(None, "secret_hash"), Index(None, "account_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_id: Mapped[str] = mapped_column(String(64))
    secret_key: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of secret_key
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()


class Bucket(Base):
    """Which account owns a bucket (the storage registry knows how to reach it)."""

    __tablename__ = "buckets"
    __table_args__ = (Unique("name"), Index(None, "account_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    backend: Mapped[str] = mapped_column(String(16), default="local")
    path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class CustomTemplate(Base):
    """An account's own template. ``definition`` comes from one sequence for every kind,
    starting at ``presets.CUSTOM_ID_START`` (see migration 0002), so it never shadows a preset.
    """

    __tablename__ = "templates"
    __table_args__ = (Index(None, "account_id", "kind"), {"sqlite_autoincrement": True})

    definition: Mapped[int] = mapped_column(Identity(start=CUSTOM_ID_START), primary_key=True)
    kind: Mapped[TemplateKind] = mapped_column(EnumText(TemplateKind, 32))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(String(256), default="")
    body: Mapped[dict[str, Any]]  # Template.to_json()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Workflow(Base):
    """An account's workflow; ``trigger_bucket`` repeats ``spec.trigger.bucket`` so uploads
    find their workflows by index.
    """

    __tablename__ = "workflows"
    __table_args__ = (Unique("account_id", "name"), Index(None, "trigger_bucket", "enabled"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(default=False)
    trigger_bucket: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]]  # WorkflowSpec.to_json()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Schedule(Base):
    """An account's schedule (the compatible API's orchestration): a workflow whose task is
    laid out as steps. ``trigger_bucket`` repeats ``spec.trigger.bucket`` so uploads find
    their schedules by index. Ids are their own sequence, apart from workflows'.
    """

    __tablename__ = "schedules"
    __table_args__ = (Unique("account_id", "name"), Index(None, "trigger_bucket", "enabled"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(default=False)
    trigger_bucket: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]]  # ScheduleSpec.to_json()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChunkLeftover(Base):
    """A chunked group's parts to remove (its group failed or was cancelled: no join will
    delete them). Written in the transaction that ends the group, deleted once the parts
    are gone (``reelflow.engine.leftovers``); ``bucket`` "" = the scratch root. No foreign
    key: the row outlives its task's retention until its parts are removed.
    """

    __tablename__ = "chunk_leftovers"
    __table_args__ = (Unique("bucket", "prefix"), Index(None, "not_before"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(1024))
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]


# The notification tables live in their own module; imported here so that ``Base.metadata``
# is complete whoever imports the models.
from reelflow.db import notify as _notify  # noqa: E402, F401
from reelflow.db import triggers as _triggers  # noqa: E402, F401
