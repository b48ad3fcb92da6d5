"""Event bodies as sent. ``reelflow.compat.render.event_body`` builds the body stored when
the event is written (inside the task's transaction):

    {"EventType": "WorkflowTask", "EventId": "ev-...", "Sequence": 3,
     "EventKind": "task.finished",             # or task.started / subtask.finished
     "SubTaskIndex": 1,                        # subtask.finished only, with
     "SubTaskId": "wm720", "SubTaskInput": null,  # its node of the task graph and
     "Quality": {"Model": ..., "Vmaf": {...}},  # its scores (null: not scored)
     "WorkflowTaskEvent": {...WorkflowTask...}, "EditMediaTaskEvent": null,
     "ScheduleTaskEvent": null, "SessionId": "...", "SessionContext": "..."}

Rendered when it is sent: with a ``NotifyKey``, ``Timestamp`` (send time + 10 min, an
expiry) and ``Sign`` are added. ``EventId`` is the same in every copy of an event that
reaches a consumer, so duplicates (at-least-once delivery) can be dropped; ``Sequence``
orders a task's events.
"""

from __future__ import annotations

import json
from typing import Any

from reelflow.notify.signing import MPS_EXPIRY_SECONDS, mps_sign


def render(body: dict[str, Any], notify_key: str, now: float) -> dict[str, Any]:
    """The document sent at ``now`` (unix seconds): with ``Timestamp``/``Sign`` when a
    ``notify_key`` is set."""
    if not notify_key:
        return body
    expiry = int(now) + MPS_EXPIRY_SECONDS
    return {**body, "Timestamp": expiry, "Sign": mps_sign(expiry, notify_key)}


def encode(document: dict[str, Any]) -> bytes:
    """The bytes on the wire (and that the webhook signature covers): compact UTF-8 JSON."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
