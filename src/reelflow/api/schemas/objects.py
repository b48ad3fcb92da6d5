"""Buckets and objects (responses only: object bodies are raw bytes)."""

from __future__ import annotations

from datetime import datetime

from reelflow.api.schemas.common import ResponseModel
from reelflow.engine.buckets import BucketInfo
from reelflow.storage.base import ObjectInfo


class ObjectOut(ResponseModel):
    key: str
    size: int
    etag: str
    modified: datetime
    content_type: str

    @classmethod
    def of(cls, info: ObjectInfo) -> ObjectOut:
        return cls(
            key=info.key,
            size=info.size,
            etag=info.etag,
            modified=info.modified,
            content_type=info.content_type,
        )


class ObjectPage(ResponseModel):
    """One page of a listing; pass ``next_start_after`` as ``start_after`` for the next
    (``null`` on the last page)."""

    bucket: str
    prefix: str
    objects: list[ObjectOut]
    next_start_after: str | None


class BucketOut(ResponseModel):
    name: str
    backend: str
    created_at: datetime

    @classmethod
    def of(cls, info: BucketInfo) -> BucketOut:
        return cls(name=info.name, backend=info.backend, created_at=info.created_at)


class BucketList(ResponseModel):
    buckets: list[BucketOut]
