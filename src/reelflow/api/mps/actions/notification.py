"""``ParseNotification``: decode an event notification body.

The body of every event reelflow sends is already the documented ``ParseNotification``
output (``compat/render.py``), so parsing is decoding the JSON and answering with it. The
documented event members reelflow does not produce are answered as ``null``; reelflow's own
fields (``EventId``, ``Sequence``, ``EventKind``) are passed through.
"""

from __future__ import annotations

import json
from typing import Any

from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.params import Params, invalid
from reelflow.compat import trim

_NULL_MEMBERS = (
    "WorkflowTaskEvent",
    "EditMediaTaskEvent",
    "ScheduleTaskEvent",
    "LiveScheduleTaskEvent",
    "ExtractBlindWatermarkTask",
)
_DEFAULTS: dict[str, Any] = {"EventType": "", "SessionId": "", "SessionContext": ""}


def parse_notification(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("Content",))
    content = p.text("Content", required=True)
    try:
        event = json.loads(content)
    except json.JSONDecodeError as exc:
        raise invalid("Content", f"is not a JSON notification body: {exc}") from None
    if not isinstance(event, dict):
        raise invalid("Content", "must be a JSON object")
    event.pop("RequestId", None)
    answer: dict[str, Any] = {**_DEFAULTS, **{m: None for m in _NULL_MEMBERS}, **event}
    if not isinstance(answer["EventType"], str) or not answer["EventType"]:
        raise invalid("Content", "has no EventType: it is not a notification body")
    if isinstance(answer["WorkflowTaskEvent"], dict):
        answer["WorkflowTaskEvent"] = trim.workflow_task(answer["WorkflowTaskEvent"])
    if isinstance(answer["ScheduleTaskEvent"], dict):
        answer["ScheduleTaskEvent"] = trim.schedule_task(answer["ScheduleTaskEvent"])
    return answer


ACTIONS: dict[str, Handler] = {"ParseNotification": parse_notification}
