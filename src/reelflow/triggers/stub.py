"""An in-memory trigger for tests: notices are pushed by hand with :meth:`StubTrigger.emit`."""

from __future__ import annotations

from reelflow.triggers.base import ObjectNotice, Origin, Trigger
from reelflow.triggers.dispatch import Fired, NoticeDispatcher


class StubTrigger(Trigger):
    """Reports what a test emits, synchronously; ``emit`` before ``start`` is refused, as a
    real trigger notices nothing before it starts."""

    name = "stub"

    def __init__(self, dispatcher: NoticeDispatcher) -> None:
        self._dispatcher = dispatcher
        self.running = False
        self.emitted: list[ObjectNotice] = []

    def start(self) -> None:
        self.running = True

    def close(self) -> None:
        self.running = False

    def emit(self, bucket: str, key: str, version: str | None = None) -> list[Fired]:
        if not self.running:
            raise RuntimeError("the stub trigger is not started")
        notice = ObjectNotice(bucket, key, version, Origin.STUB)
        self.emitted.append(notice)
        return self._dispatcher.fire(notice)
