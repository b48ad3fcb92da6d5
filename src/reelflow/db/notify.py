"""The notification tables: the outbox (events, their deliveries, every attempt) and the
embedded message queue. Migration 0003 creates them (0005 adds an index).

- ``NotifyEvent``: written in the transaction that changes the task's state. ``id`` is the
  stable event id consumers deduplicate on; ``seq`` numbers a task's events from 1.
  ``body`` is the stored event (without ``Timestamp``/``Sign``, which are computed at send
  time); ``target`` is the ``NotifyTarget`` JSON the event goes to.
- ``NotifyDelivery``: one per event. The dispatcher claims a due one by pushing
  ``next_attempt_at`` forward by its lease and naming itself in ``claimed_by``; a crashed
  dispatcher's claim simply falls due again. ``target_key`` (a hash of the target) lets a
  dispatcher leave alone the targets it is already busy with.
- ``NotifyAttempt``: one row per try, whatever its outcome.
- ``QueueMessage``: a message of an embedded queue, visible from ``visible_at``; a receive
  hides it for the visibility timeout and gives it a new ``receipt``; an ack deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reelflow.db.models import Base, EnumText
from reelflow.specs.events import AttemptOutcome, DeliveryState, EventType


class NotifyEvent(Base):
    __tablename__ = "notify_events"
    __table_args__ = (Unique("task_id", "seq"), Index(None, "workflow_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    account_id: Mapped[int | None]
    workflow_id: Mapped[int | None]
    seq: Mapped[int]
    type: Mapped[EventType] = mapped_column(EnumText(EventType, 32))
    body: Mapped[dict[str, Any]]
    target: Mapped[dict[str, Any]]  # NotifyTarget.to_json()
    created_at: Mapped[datetime]

    deliveries: Mapped[list[NotifyDelivery]] = relationship(
        back_populates="event", order_by="NotifyDelivery.id", cascade="all, delete-orphan"
    )


class NotifyDelivery(Base):
    __tablename__ = "notify_deliveries"
    __table_args__ = (
        Index(None, "state", "next_attempt_at"),
        Index(None, "event_id"),
        Index(None, "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("notify_events.id", ondelete="CASCADE"))
    account_id: Mapped[int | None]
    target_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[DeliveryState] = mapped_column(EnumText(DeliveryState))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    give_up_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    event: Mapped[NotifyEvent] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[NotifyAttempt]] = relationship(
        back_populates="delivery", order_by="NotifyAttempt.id", cascade="all, delete-orphan"
    )


class NotifyAttempt(Base):
    __tablename__ = "notify_attempts"
    __table_args__ = (Index(None, "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notify_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int]
    started_at: Mapped[datetime]
    duration_ms: Mapped[float]
    outcome: Mapped[AttemptOutcome] = mapped_column(EnumText(AttemptOutcome))
    status_code: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(128))

    delivery: Mapped[NotifyDelivery] = relationship(back_populates="attempt_log")


class QueueMessage(Base):
    __tablename__ = "queue_messages"
    __table_args__ = (
        Index(None, "account_id", "queue", "visible_at"),
        Index(None, "account_id", "queue", "event_id"),  # put: is the event waiting already?
        Index(None, "receipt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None]
    queue: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    visible_at: Mapped[datetime]
    receive_count: Mapped[int] = mapped_column(default=0)
    receipt: Mapped[str | None] = mapped_column(String(64))
