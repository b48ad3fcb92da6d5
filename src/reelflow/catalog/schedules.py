"""Schedules: an account's orchestrations, and the task request each run becomes.

A schedule is stored and checked like a workflow (``catalog.workflows``: its buckets belong
to the account, its templates resolve, its graph links), with its own ids and its step
layout (``specs.schedules``). New schedules are disabled. A schedule starts a task on an
upload to its trigger (``triggers.dispatch``), or when a client names it
(``ProcessMedia`` with ``ScheduleId``, whatever its state: the trigger is what enabling
arms). Changing or deleting a schedule never touches the tasks it already started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.definitions import Definitions
from reelflow.catalog.workflows import Workflows
from reelflow.db.models import Schedule
from reelflow.errors import ScheduleNotFound
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.schedules import ScheduleSpec, TaskSchedule
from reelflow.specs.templates import TRUSTED


@dataclass(frozen=True)
class ScheduleRecord:
    id: int
    account_id: int
    name: str
    enabled: bool
    spec: ScheduleSpec
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Schedule) -> ScheduleRecord:
        return cls(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            enabled=row.enabled,
            spec=ScheduleSpec.model_validate(row.spec, context=TRUSTED),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def build_request(
    spec: ScheduleSpec,
    source: TaskSource,
    schedule_id: int | None,
    *,
    output_bucket: str = "",
    output_dir: str = "",
    notify: NotifyTarget | None = None,
) -> TaskRequest:
    """The task request ``spec`` makes for ``source``. Outputs go, by priority, where a
    sub-task says, else ``output_bucket``/``output_dir`` (a client's request), else where
    the schedule says, else the trigger bucket (and the source's folder); ``notify``
    replaces the schedule's target."""
    return TaskRequest(
        source=source,
        media_process_task=spec.media_process_task,
        output_bucket=output_bucket or spec.output_bucket or spec.trigger.bucket,
        output_dir=output_dir or spec.output_dir,
        notify=notify if notify is not None else spec.notify,
        schedule=TaskSchedule(schedule_id=schedule_id, steps=spec.steps),
        regions=spec.regions,
    )


class Schedules(Definitions[Schedule, ScheduleRecord, ScheduleSpec]):
    """``Schedules(sessions, workflows)``: the life cycle of ``catalog.definitions``;
    every method is one transaction. A schedule is checked by ``workflows.validate`` (a
    schedule is a workflow with a layout)."""

    model = Schedule
    noun = "schedule"
    not_found = ScheduleNotFound
    name_code = "InvalidParameterValue.ScheduleName"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        workflows: Workflows,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(sessions, clock=clock)
        self._workflows = workflows

    def validate(self, account_id: int, spec: ScheduleSpec) -> None:
        self._workflows.validate(account_id, spec)

    @staticmethod
    def request_for(schedule: ScheduleRecord, source: TaskSource) -> TaskRequest:
        """The task request ``schedule`` makes for the upload ``source``."""
        return build_request(schedule.spec, source, schedule.id)

    def _record(self, row: Schedule) -> ScheduleRecord:
        return ScheduleRecord.of(row)
