"""Reading the outbox: a task's events with their deliveries and attempts, pages of
deliveries, and the last notification error of a workflow. Secrets never leave: targets
are shown ``redacted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from reelflow.db.models import Task
from reelflow.db.notify import NotifyAttempt, NotifyDelivery, NotifyEvent
from reelflow.db.session import transaction
from reelflow.errors import DeliveryNotFound, SpecError, TaskNotFound
from reelflow.specs.events import AttemptOutcome, DeliveryState, EventType
from reelflow.specs.notify import NotifyTarget

MAX_PAGE = 100


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: datetime
    duration_ms: float
    outcome: AttemptOutcome
    status_code: int | None
    error: str
    worker: str

    @classmethod
    def of(cls, row: NotifyAttempt) -> AttemptView:
        return cls(
            number=row.number,
            started_at=row.started_at,
            duration_ms=row.duration_ms,
            outcome=row.outcome,
            status_code=row.status_code,
            error=row.error,
            worker=row.worker,
        )


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: str
    task_id: str
    seq: int
    event_type: EventType
    target: dict[str, object]
    destination: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None  # pending only
    give_up_at: datetime
    last_error: str
    last_status: int | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    attempt_log: tuple[AttemptView, ...]

    @classmethod
    def of(cls, row: NotifyDelivery) -> DeliveryView:
        event = row.event
        target = NotifyTarget.model_validate(event.target)
        pending = row.state is DeliveryState.PENDING
        return cls(
            id=row.id,
            event_id=event.id,
            task_id=event.task_id,
            seq=event.seq,
            event_type=event.type,
            target=target.redacted(),
            destination=target.describe(),
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if pending else None,
            give_up_at=row.give_up_at,
            last_error=row.last_error,
            last_status=row.last_status,
            created_at=row.created_at,
            updated_at=row.updated_at,
            delivered_at=row.delivered_at,
            attempt_log=tuple(AttemptView.of(a) for a in row.attempt_log),
        )


@dataclass(frozen=True)
class EventView:
    id: str
    task_id: str
    seq: int
    type: EventType
    created_at: datetime
    body: dict[str, Any]
    deliveries: tuple[DeliveryView, ...]


class OutboxRecords:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def task_events(self, task_id: str, *, account_id: int | None = None) -> list[EventView]:
        """The task's events in order; ``TaskNotFound`` for an unknown id or another
        account's task (``account_id=None``: any task)."""
        with transaction(self._sessions, write=False) as session:
            owner = session.execute(select(Task.account_id).where(Task.id == task_id)).first()
            if owner is None or (account_id is not None and owner[0] != account_id):
                raise TaskNotFound(f"no task with id {task_id!r}")
            rows = session.scalars(
                select(NotifyEvent)
                .where(NotifyEvent.task_id == task_id)
                .order_by(NotifyEvent.seq)
                .options(
                    selectinload(NotifyEvent.deliveries).selectinload(NotifyDelivery.attempt_log)
                )
            )
            return [
                EventView(
                    id=row.id,
                    task_id=row.task_id,
                    seq=row.seq,
                    type=row.type,
                    created_at=row.created_at,
                    body=row.body,
                    deliveries=tuple(DeliveryView.of(d) for d in row.deliveries),
                )
                for row in rows
            ]

    def delivery(self, delivery_id: int, *, account_id: int | None = None) -> DeliveryView:
        with transaction(self._sessions, write=False) as session:
            row = session.scalars(
                _with_details(select(NotifyDelivery)).where(NotifyDelivery.id == delivery_id)
            ).one_or_none()
            if row is None or (account_id is not None and row.account_id != account_id):
                raise DeliveryNotFound(f"no delivery with id {delivery_id}")
            return DeliveryView.of(row)

    def deliveries(
        self,
        *,
        account_id: int | None = None,
        state: DeliveryState | None = None,
        task_id: str | None = None,
        workflow_id: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[DeliveryView], str | None]:
        """Deliveries newest first and the cursor of the next page (``None``: last page)."""
        if not 1 <= limit <= MAX_PAGE:
            raise SpecError(f"limit must be 1..{MAX_PAGE}, got {limit}", field="limit")
        query = _with_details(select(NotifyDelivery))
        if account_id is not None:
            query = query.where(NotifyDelivery.account_id == account_id)
        if state is not None:
            query = query.where(NotifyDelivery.state == state)
        if task_id is not None or workflow_id is not None:
            query = query.join(NotifyDelivery.event)
            if task_id is not None:
                query = query.where(NotifyEvent.task_id == task_id)
            if workflow_id is not None:
                query = query.where(NotifyEvent.workflow_id == workflow_id)
        if cursor:
            query = query.where(NotifyDelivery.id < _decode_cursor(cursor))
        query = query.order_by(NotifyDelivery.id.desc()).limit(limit + 1)
        with transaction(self._sessions, write=False) as session:
            rows = list(session.scalars(query))
            views = [DeliveryView.of(row) for row in rows[:limit]]
        next_cursor = f"d{views[-1].id}" if len(rows) > limit else None
        return views, next_cursor

    def workflow_error(self, workflow_id: int) -> str | None:
        """The error of the workflow's most recently failed delivery that is still not
        delivered (pending or dead); ``None`` when its notifications flow."""
        query = (
            select(NotifyDelivery.last_error, NotifyEvent.target)
            .join(NotifyDelivery.event)
            .where(
                NotifyEvent.workflow_id == workflow_id,
                NotifyDelivery.state != DeliveryState.DELIVERED,
                NotifyDelivery.last_error != "",
            )
            .order_by(NotifyDelivery.updated_at.desc())
            .limit(1)
        )
        with transaction(self._sessions, write=False) as session:
            row = session.execute(query).first()
        if row is None:
            return None
        error, target = row
        return f"{NotifyTarget.model_validate(target).describe()}: {error}"


def _with_details(query: Select[NotifyDelivery]) -> Select[NotifyDelivery]:
    return query.options(
        selectinload(NotifyDelivery.event), selectinload(NotifyDelivery.attempt_log)
    )


def _decode_cursor(cursor: str) -> int:
    if not (cursor.startswith("d") and cursor[1:].isdigit()):
        raise SpecError(f"invalid cursor {cursor!r}", field="cursor")
    return int(cursor[1:])
