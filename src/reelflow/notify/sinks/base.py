"""The sink contract.

A ``Sink`` sends events to one target. ``send(event)`` makes one attempt and reports how
it went as a ``DeliveryOutcome``; it does not retry (the delivery loop does, with backoff)
and it does not raise for a failed delivery: a refused connection, a timeout, a non-2xx
answer are outcomes with ``ok=False`` and an ``error`` a person can act on. A sink is used
from several delivery threads at once and must be safe for that; ``close`` releases its
connections.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from reelflow.specs.events import EventType
from reelflow.specs.notify import NotifyTarget


@dataclass(frozen=True)
class OutgoingEvent:
    """One event as it leaves: ``document`` is the rendered body and ``body`` its bytes."""

    event_id: str
    task_id: str
    account_id: int | None
    seq: int
    type: EventType
    document: dict[str, Any]
    body: bytes
    sent_at: int  # unix seconds: the webhook signature's timestamp


@dataclass(frozen=True)
class DeliveryOutcome:
    ok: bool
    status_code: int | None = None  # the receiver's answer, where there is one (HTTP)
    error: str = ""
    # Trying again cannot help (the egress policy refused the target): dead at once.
    permanent: bool = False

    @classmethod
    def delivered(cls, status_code: int | None = None) -> DeliveryOutcome:
        return cls(ok=True, status_code=status_code)

    @classmethod
    def failed(cls, error: str, status_code: int | None = None) -> DeliveryOutcome:
        return cls(ok=False, status_code=status_code, error=error)

    @classmethod
    def refused(cls, error: str) -> DeliveryOutcome:
        """Refused by the egress policy: nothing was connected to, never retried."""
        return cls(ok=False, error=error, permanent=True)


class Sink(ABC):
    @abstractmethod
    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        """Try once to hand ``event`` to the target; never raises for a failed delivery."""

    def close(self) -> None:  # noqa: B027 - most sinks hold nothing to release
        """Release connections; the sink is not used afterwards."""


class LocalSink(Sink):
    """A sink whose target lives in reelflow's own database (the embedded queue).

    Besides ``send`` it can ``write`` an event in a transaction it is handed: the one that
    records the delivery. The message and its record then commit together (a lost answer
    cannot cause a duplicate) and many deliveries share one transaction. ``committed`` is
    called with the written events once that transaction has committed.
    """

    @abstractmethod
    def write(self, session: Session, event: OutgoingEvent) -> None:
        """Add ``event`` to the target inside ``session``'s transaction; do not commit."""

    def committed(self, events: Sequence[OutgoingEvent]) -> None:
        """``events`` written by ``write`` are committed (e.g. wake waiting readers)."""


class SinkFactory(Protocol):
    """Builds the sink for a target (the delivery loop caches one per target key)."""

    def __call__(self, target: NotifyTarget) -> Sink: ...
