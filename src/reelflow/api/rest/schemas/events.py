"""``/v1/tasks/{id}/events`` and ``/v1/deliveries``: events, deliveries, attempts (out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from reelflow.api.rest.schemas.common import ResponseModel
from reelflow.notify.records import AttemptView, DeliveryView, EventView
from reelflow.specs.events import AttemptOutcome, DeliveryState, EventType


class AttemptOut(ResponseModel):
    """One attempt to send a delivery: when, how it ended and the target's answer or error."""

    number: int
    started_at: datetime
    duration_ms: float
    outcome: AttemptOutcome
    status_code: int | None = Field(description="The receiver's HTTP status, if any.")
    error: str
    worker: str

    @classmethod
    def of(cls, view: AttemptView) -> AttemptOut:
        return cls(
            number=view.number,
            started_at=view.started_at,
            duration_ms=view.duration_ms,
            outcome=view.outcome,
            status_code=view.status_code,
            error=view.error,
            worker=view.worker,
        )


class DeliveryOut(ResponseModel):
    """One event's delivery to its target: ``pending`` (``next_attempt_at`` says when),
    ``delivered`` or ``dead`` (retried until ``give_up_at``; replayable)."""

    id: int
    event_id: str
    task_id: str
    seq: int
    event_type: EventType
    target: dict[str, Any] = Field(description="The target, secrets masked.")
    destination: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    give_up_at: datetime
    last_error: str
    last_status: int | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]

    @classmethod
    def of(cls, view: DeliveryView) -> DeliveryOut:
        return cls(
            id=view.id,
            event_id=view.event_id,
            task_id=view.task_id,
            seq=view.seq,
            event_type=view.event_type,
            target=dict(view.target),
            destination=view.destination,
            state=view.state,
            attempts=view.attempts,
            next_attempt_at=view.next_attempt_at,
            give_up_at=view.give_up_at,
            last_error=view.last_error,
            last_status=view.last_status,
            created_at=view.created_at,
            updated_at=view.updated_at,
            delivered_at=view.delivered_at,
            attempt_log=[AttemptOut.of(a) for a in view.attempt_log],
        )


class EventOut(ResponseModel):
    """One notification event of a task, as it was sent, with its deliveries."""

    id: str
    seq: int
    type: EventType
    created_at: datetime
    body: dict[str, Any] = Field(
        description="As sent, less Timestamp and Sign (computed at each send)."
    )
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, view: EventView) -> EventOut:
        return cls(
            id=view.id,
            seq=view.seq,
            type=view.type,
            created_at=view.created_at,
            body=view.body,
            deliveries=[DeliveryOut.of(d) for d in view.deliveries],
        )


class TaskEvents(ResponseModel):
    """Every notification event of a task, with their deliveries and attempts."""

    task_id: str
    events: list[EventOut]


class DeliveryPage(ResponseModel):
    """Newest first; pass ``next_cursor`` as ``cursor`` for the next page (null: last)."""

    deliveries: list[DeliveryOut]
    next_cursor: str | None
