"""Bodies of ``/v1/hooks``."""

from __future__ import annotations

from reelflow.api.rest.schemas.common import ResponseModel


class HookTask(ResponseModel):
    """A task an S3 event record started."""

    bucket: str
    key: str
    workflow_id: int
    task_id: str


class HookIgnored(ResponseModel):
    """An S3 event record that started nothing, and why."""

    record: int
    reason: str


class HookResult(ResponseModel):
    """What an event did: tasks started, object versions that had started their task
    before (``duplicates``), and records that concern no workflow trigger (``ignored``)."""

    records: int
    started: list[HookTask]
    duplicates: list[HookTask]
    ignored: list[HookIgnored]
