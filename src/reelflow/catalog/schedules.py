"""Schedules: an account's orchestrations, and the task request each run becomes.

A schedule is stored and checked like a workflow (``catalog.workflows``: its buckets belong
to the account, its templates resolve, its graph links), with its own ids and its step
layout (``specs.schedules``). New schedules are disabled. A schedule starts a task on an
upload to its trigger (``triggers.dispatch``), or when a client names it
(``ProcessMedia`` with ``ScheduleId``, whatever its state: the trigger is what enabling
arms). Changing or deleting a schedule never touches the tasks it already started.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.workflows import MAX_IDS, MAX_PAGE, Workflows, check_templates_still_exist
from reelflow.db.models import Schedule
from reelflow.db.session import transaction
from reelflow.errors import ScheduleNotFound, SpecError
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


class Schedules:
    """``Schedules(sessions, workflows)``: every method is one transaction; a schedule is
    checked by ``workflows.validate`` (a schedule is a workflow with a layout)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        workflows: Workflows,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sessions = sessions
        self._workflows = workflows
        self._clock = clock or (lambda: datetime.now(UTC))

    def create(
        self, account_id: int, spec: ScheduleSpec, *, enabled: bool = False
    ) -> ScheduleRecord:
        self._workflows.validate(account_id, spec)
        with transaction(self._sessions, write=True) as session:
            self._check_name(session, account_id, spec.name, None)
            check_templates_still_exist(session, account_id, spec)
            now = self._clock()
            row = Schedule(
                account_id=account_id,
                name=spec.name,
                enabled=enabled,
                trigger_bucket=spec.trigger.bucket,
                spec=spec.to_json(),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return ScheduleRecord.of(row)

    def get(self, account_id: int, schedule_id: int) -> ScheduleRecord:
        with transaction(self._sessions, write=False) as session:
            return ScheduleRecord.of(self._find(session, account_id, schedule_id))

    def replace(self, account_id: int, schedule_id: int, spec: ScheduleSpec) -> ScheduleRecord:
        """Replace the whole definition (a caller merges first); the state is kept."""
        self._workflows.validate(account_id, spec)
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_id, schedule_id)
            self._check_name(session, account_id, spec.name, schedule_id)
            check_templates_still_exist(session, account_id, spec)
            row.name = spec.name
            row.trigger_bucket = spec.trigger.bucket
            row.spec = spec.to_json()
            row.updated_at = self._clock()
            return ScheduleRecord.of(row)

    def delete(self, account_id: int, schedule_id: int) -> None:
        with transaction(self._sessions, write=True) as session:
            session.delete(self._find(session, account_id, schedule_id))

    def enable(self, account_id: int, schedule_id: int) -> ScheduleRecord:
        return self._set_enabled(account_id, schedule_id, True)

    def disable(self, account_id: int, schedule_id: int) -> ScheduleRecord:
        return self._set_enabled(account_id, schedule_id, False)

    def enabled_in(self, bucket: str) -> builtins.list[ScheduleRecord]:
        """The enabled schedules (of any account) bound to ``bucket``, by id."""
        query = (
            select(Schedule)
            .where(Schedule.trigger_bucket == bucket, Schedule.enabled)
            .order_by(Schedule.id)
        )
        with transaction(self._sessions, write=False) as session:
            return [ScheduleRecord.of(row) for row in session.scalars(query)]

    @staticmethod
    def request_for(schedule: ScheduleRecord, source: TaskSource) -> TaskRequest:
        """The task request ``schedule`` makes for the upload ``source``."""
        return build_request(schedule.spec, source, schedule.id)

    def list(
        self,
        account_id: int,
        enabled: bool | None = None,
        ids: Iterable[int] | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[builtins.list[ScheduleRecord], int]:
        """One page of the account's schedules by id, and how many match in all."""
        if not 1 <= limit <= MAX_PAGE:
            raise SpecError(f"limit must be 1..{MAX_PAGE}, got {limit}", field="limit")
        if offset < 0:
            raise SpecError(f"offset must be >= 0, got {offset}", field="offset")
        query: Select[Schedule] = select(Schedule).where(Schedule.account_id == account_id)
        if enabled is not None:
            query = query.where(Schedule.enabled == enabled)
        if ids is not None:
            wanted = set(ids)
            if len(wanted) > MAX_IDS:
                raise SpecError(f"at most {MAX_IDS} schedule ids per query", field="ids")
            query = query.where(Schedule.id.in_(wanted))
        with transaction(self._sessions, write=False) as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = query.order_by(Schedule.id).offset(offset).limit(limit)
            return [ScheduleRecord.of(row) for row in session.scalars(page)], total

    # -- helpers --------------------------------------------------------------------------

    def _set_enabled(self, account_id: int, schedule_id: int, enabled: bool) -> ScheduleRecord:
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_id, schedule_id)
            if row.enabled != enabled:
                row.enabled = enabled
                row.updated_at = self._clock()
            return ScheduleRecord.of(row)

    @staticmethod
    def _find(session: Session, account_id: int, schedule_id: int) -> Schedule:
        row = session.get(Schedule, schedule_id)
        if row is None or row.account_id != account_id:
            raise ScheduleNotFound(f"no schedule with id {schedule_id}")
        return row

    @staticmethod
    def _check_name(session: Session, account_id: int, name: str, own_id: int | None) -> None:
        query = select(Schedule.id).where(Schedule.account_id == account_id, Schedule.name == name)
        other = session.scalar(query)
        if other is not None and other != own_id:
            raise SpecError(
                f"name: schedule {other} is already called {name!r}; names are unique",
                code="InvalidParameterValue.ScheduleName",
                field="name",
            )
