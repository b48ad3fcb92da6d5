"""The in-memory fake: records what it is sent and answers from a script.

    sink = MemorySink()
    sink.script.extend([DeliveryOutcome.failed("down"), DeliveryOutcome.delivered()])

Each send takes the next scripted outcome (an exception in the script is raised, to test
the delivery loop against a broken sink); with the script empty it delivers. ``MemorySinks``
is a ``SinkFactory`` handing out one ``MemorySink`` per target key.
"""

from __future__ import annotations

import threading

from reelflow.notify.sinks.base import DeliveryOutcome, OutgoingEvent, Sink
from reelflow.specs.notify import NotifyTarget


class MemorySink(Sink):
    def __init__(self) -> None:
        self.sent: list[OutgoingEvent] = []
        self.script: list[DeliveryOutcome | Exception] = []
        self.closed = False
        self._lock = threading.Lock()
        self._sent_event = threading.Condition(self._lock)

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        with self._lock:
            step = self.script.pop(0) if self.script else DeliveryOutcome.delivered()
            self.sent.append(event)
            self._sent_event.notify_all()
        if isinstance(step, Exception):
            raise step
        return step

    def sent_ids(self) -> list[str]:
        """Event ids of every send, in order (duplicates kept)."""
        with self._lock:
            return [e.event_id for e in self.sent]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until ``count`` sends were made (True) or ``timeout`` s pass (False)."""
        with self._lock:
            return self._sent_event.wait_for(lambda: len(self.sent) >= count, timeout)

    def close(self) -> None:
        self.closed = True


class MemorySinks:
    """A ``SinkFactory`` of ``MemorySink``s, one per target key (see ``sink_for``)."""

    def __init__(self) -> None:
        self.sinks: dict[str, MemorySink] = {}
        self._lock = threading.Lock()

    def __call__(self, target: NotifyTarget) -> Sink:
        return self.sink_for(target)

    def sink_for(self, target: NotifyTarget) -> MemorySink:
        with self._lock:
            return self.sinks.setdefault(target.key(), MemorySink())
