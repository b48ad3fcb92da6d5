"""Buckets and objects (responses only: object bodies are raw bytes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from reelflow.api.rest.schemas.common import ResponseModel
from reelflow.api.rest.schemas.deferred import DeferredStart
from reelflow.catalog.buckets import BucketInfo
from reelflow.storage.base import ObjectInfo
from reelflow.triggers.dispatch import Fired


class ObjectOut(ResponseModel):
    """An object of a bucket."""

    key: str = Field(description="The object's key in its bucket (may contain '/').")
    size: int = Field(description="Bytes.")
    etag: str = Field(
        description="An opaque tag of this version of the object (also the `ETag` header); "
        "it changes whenever the object is written."
    )
    modified: datetime = Field(description="When it was last written (UTC).")
    content_type: str = Field(description="The `Content-Type` it was uploaded with.")

    @classmethod
    def of(cls, info: ObjectInfo) -> ObjectOut:
        return cls(
            key=info.key,
            size=info.size,
            etag=info.etag,
            modified=info.modified,
            content_type=info.content_type,
        )


class StartedTask(ResponseModel):
    """A task an upload started: one per enabled workflow whose trigger matches it."""

    task_id: str = Field(description="Poll it with `GET /v1/tasks/{task_id}`.")
    workflow_id: int = Field(description="The workflow that started it.")
    created: bool = Field(
        description="False when this version of the object had already started this "
        "workflow's task (a repeated notice of the same write): that task is listed, and "
        "no task is started twice."
    )

    @classmethod
    def of(cls, fired: Fired) -> StartedTask:
        return cls(task_id=fired.task_id, workflow_id=fired.workflow_id, created=fired.new)


class UploadOut(ObjectOut):
    """The stored object, and what the upload started."""

    tasks: list[StartedTask] = Field(
        description="The tasks the upload started, by workflow; empty when no enabled "
        "workflow's trigger (bucket, folder prefix, formats) matches the key."
    )
    deferred: list[DeferredStart] = Field(
        default_factory=list,
        description="The workflows (or schedules) the upload triggered while the account "
        "had `max_queued_tasks` unfinished tasks: the object is stored and their tasks "
        "start once the account has room (`GET /v1/deferred-triggers`).",
    )


class ObjectPage(ResponseModel):
    """One page of a listing; pass ``next_start_after`` as ``start_after`` for the next
    (``null`` on the last page)."""

    bucket: str
    prefix: str
    objects: list[ObjectOut]
    next_start_after: str | None


class BucketOut(ResponseModel):
    """A bucket: its name, where it is stored (`local` or `s3`) and when it was registered."""

    name: str
    backend: str
    created_at: datetime

    @classmethod
    def of(cls, info: BucketInfo) -> BucketOut:
        return cls(name=info.name, backend=info.backend, created_at=info.created_at)


class BucketList(ResponseModel):
    """The buckets of the caller's account."""

    buckets: list[BucketOut]
