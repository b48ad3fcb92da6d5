"""The trigger contract.

A trigger notices new objects in buckets and reports each one to a
:class:`~reelflow.triggers.dispatch.NoticeDispatcher` as an :class:`ObjectNotice`; it never
starts tasks itself, never decides which workflows match and never deduplicates (the
dispatcher and the engine do). A trigger may report the same object any number of times.

Long-running triggers (watchers, pollers) implement :class:`Trigger`: ``start()`` returns at
once and work goes on in the trigger's own thread until ``close()``, which waits for it to
end. A failure while noticing (a listing that times out) is logged and retried by the
trigger; it never ends the thread.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum


class Origin(StrEnum):
    """Which trigger noticed an object."""

    UPLOAD = "upload"
    WATCH = "watch"
    S3_EVENT = "s3-event"
    S3_POLL = "s3-poll"
    STUB = "stub"


@dataclass(frozen=True)
class ObjectNotice:
    """``key`` in ``bucket`` is new or changed. ``version`` is the object's ETag when the
    trigger knows it (S3 events and listings); otherwise the dispatcher asks the bucket."""

    bucket: str
    key: str
    version: str | None = None
    origin: Origin = Origin.UPLOAD


class Trigger(ABC):
    """A trigger that runs on its own: a folder watcher or an S3 poller."""

    name: str = "trigger"

    @abstractmethod
    def start(self) -> None:
        """Start noticing in a thread of the trigger's own; returns at once."""

    @abstractmethod
    def close(self) -> None:
        """Stop and wait for the thread to end. Idempotent; safe if never started."""
