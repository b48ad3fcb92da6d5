"""Event bodies: the compatible API's ``ParseNotification`` output, plus an event id.

Stored when the event is written (inside the task's transaction):

    {"EventType": "WorkflowTask", "EventId": "ev-...", "Sequence": 3,
     "EventKind": "task.finished",             # or task.started / subtask.finished
     "SubTaskIndex": 1,                        # subtask.finished only
     "WorkflowTaskEvent": {...WorkflowTask...}, "EditMediaTaskEvent": null,
     "ScheduleTaskEvent": null, "SessionId": "...", "SessionContext": "..."}

Rendered when it is sent: with a ``NotifyKey``, ``Timestamp`` (send time + 10 min, an
expiry) and ``Sign`` are added. ``EventId`` is the same in every copy of an event that
reaches a consumer, so duplicates (at-least-once delivery) can be dropped; ``Sequence``
orders a task's events.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from reelflow.engine.results import workflow_task
from reelflow.engine.views import TaskView
from reelflow.notify.signing import MPS_EXPIRY_SECONDS, mps_sign
from reelflow.specs.events import EventType

logger = logging.getLogger(__name__)


def event_body(
    view: TaskView,
    event_id: str,
    seq: int,
    kind: EventType,
    subtask_index: int | None = None,
) -> dict[str, Any]:
    """The stored body of one event about ``view``."""
    body: dict[str, Any] = {
        "EventType": "WorkflowTask",
        "EventId": event_id,
        "Sequence": seq,
        "EventKind": kind.value,
        "WorkflowTaskEvent": _workflow_task(view),
        "EditMediaTaskEvent": None,
        "ScheduleTaskEvent": None,
        "SessionId": view.session_id,
        "SessionContext": view.session_context,
    }
    if subtask_index is not None:
        body["SubTaskIndex"] = subtask_index
    return body


def _workflow_task(view: TaskView) -> dict[str, Any]:
    try:
        return workflow_task(view)
    except (KeyError, TypeError, ValueError):
        # A probe record this version cannot read must not roll back the task's state
        # change: the event goes out without MetaData.
        logger.exception("task %s: media info unreadable; event sent without MetaData", view.id)
        return workflow_task(dataclasses.replace(view, media_info=None))


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
