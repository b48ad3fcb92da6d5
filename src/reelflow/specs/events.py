"""The vocabulary of notifications: what an event announces, where its delivery stands,
and how one attempt ended. States are ``str`` enums stored as their values."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Why an event was written. ``TASK_FINISHED`` is sent in every mode; the others only
    to targets in ``Change`` mode."""

    TASK_STARTED = "task.started"
    SUBTASK_FINISHED = "subtask.finished"
    TASK_FINISHED = "task.finished"


class DeliveryState(StrEnum):
    """``pending`` -> ``delivered`` | ``dead``; a replay moves ``dead`` back to ``pending``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class AttemptOutcome(StrEnum):
    """How one attempt to send an event ended."""

    DELIVERED = "delivered"
    FAILED = "failed"
