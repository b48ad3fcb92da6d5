"""The embedded queue: the event becomes a message of the named queue of the account that
owns the task (``notify.queues``), read through ``/v1/queues/{queue}/messages``.

A ``LocalSink``: the delivery loop writes the message in the transaction that records the
delivery, so a delivery to the embedded queue happens exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from reelflow.notify.queues import MessageQueues
from reelflow.notify.sinks.base import DeliveryOutcome, LocalSink, OutgoingEvent


class QueueSink(LocalSink):
    def __init__(self, queues: MessageQueues, name: str) -> None:
        self._queues = queues
        self._name = name

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        try:
            self._queues.put(event.account_id, self._name, event.event_id, event.document)
        except SQLAlchemyError as exc:
            return DeliveryOutcome.failed(f"queue {self._name}: database error: {exc}")
        return DeliveryOutcome.delivered()

    def write(self, session: Session, event: OutgoingEvent) -> None:
        self._queues.add(session, event.account_id, self._name, event.event_id, event.document)

    def committed(self, events: Sequence[OutgoingEvent]) -> None:
        for account_id in {event.account_id for event in events}:
            self._queues.ring(account_id, self._name)
