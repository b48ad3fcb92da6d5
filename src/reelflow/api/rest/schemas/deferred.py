"""Bodies of ``/v1/deferred-triggers`` and the upload answer's deferred starts."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from reelflow.api.rest.schemas.common import ResponseModel
from reelflow.catalog.deferred import Deferred
from reelflow.triggers.dispatch import Fired


class DeferredStart(ResponseModel):
    """A workflow (or schedule) that an upload triggered while the account had
    `max_queued_tasks` unfinished tasks: its task starts once the account has room."""

    workflow_id: int = Field(description="The workflow, or the schedule if `schedule`.")
    schedule: bool

    @classmethod
    def of(cls, fired: Fired) -> DeferredStart:
        return cls(workflow_id=fired.workflow_id, schedule=fired.schedule)


class DeferredOut(ResponseModel):
    """One deferred start, waiting for room under `max_queued_tasks`."""

    id: int
    workflow_id: int = Field(description="The workflow, or the schedule if `schedule`.")
    schedule: bool
    bucket: str
    key: str
    version: str = Field(description="The object version (ETag) that triggered it.")
    deferred_at: datetime

    @classmethod
    def of(cls, deferred: Deferred) -> DeferredOut:
        key = deferred.key
        return cls(
            id=deferred.id,
            workflow_id=key.workflow_id,
            schedule=key.schedule,
            bucket=key.bucket,
            key=key.key,
            version=key.version,
            deferred_at=deferred.created_at,
        )


class DeferredPage(ResponseModel):
    """Oldest first; pass ``next_after`` as ``after`` for the next page (``null``: last)."""

    deferred: list[DeferredOut]
    next_after: int | None
