"""Schedules in the compatible API's ``SchedulesInfo`` shape (``DescribeSchedules``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from reelflow.compat.activities import activities
from reelflow.compat.notify import to_task_notify_config
from reelflow.compat.outputs import storage_info
from reelflow.compat.regions import fill_regions
from reelflow.compat.render import iso
from reelflow.compat.workflows import trigger_info
from reelflow.specs.schedules import ScheduleSpec


class StoredSchedule(Protocol):
    """What rendering reads of a schedule (``reelflow.catalog.schedules.ScheduleRecord``)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def spec(self) -> ScheduleSpec: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def schedule_info(record: StoredSchedule) -> dict[str, Any]:
    """``SchedulesInfo`` with the regions CreateSchedule/ModifySchedule gave its buckets;
    others empty (``reelflow.compat.regions`` fills them)."""
    spec = record.spec
    regions = spec.regions or {}
    info: dict[str, Any] = {
        "ScheduleId": record.id,
        "ScheduleName": record.name,
        "Type": "Custom",
        "Status": "Enabled" if record.enabled else "Disabled",
        "Trigger": trigger_info(spec.trigger),
        "Activities": activities(spec),
        "OutputStorage": {
            **storage_info(spec.output_bucket or spec.trigger.bucket),
            "S3OutputStorage": None,
        },
        "OutputDir": spec.output_dir,
        "TaskNotifyConfig": to_task_notify_config(spec.notify),
        "CreateTime": iso(record.created_at),
        "UpdateTime": iso(record.updated_at),
        "ResourceId": "",
    }
    filled: dict[str, Any] = fill_regions(info, lambda bucket: regions.get(bucket, ""))
    return filled
