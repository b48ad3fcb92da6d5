"""Calling actions through the official SDK's typed client, as a user's code would."""

from __future__ import annotations

import json
import time
from typing import Any

from tencentcloud.mps.v20190612 import models
from tencentcloud.mps.v20190612.mps_client import MpsClient


def call(client: MpsClient, action: str, params: dict[str, Any]) -> Any:
    """``client.<action>(<action>Request from params)``; returns the typed response."""
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def as_dict(response: Any) -> dict[str, Any]:
    """A typed response as plain JSON (the SDK's own serialization)."""
    data: dict[str, Any] = json.loads(response.to_json_string())
    return data


def wait_finished(client: MpsClient, task_id: str, timeout: float = 90.0) -> dict[str, Any]:
    """Poll DescribeTaskDetail until the task's Status is FINISH; returns the detail."""
    deadline = time.monotonic() + timeout
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        detail = as_dict(call(client, "DescribeTaskDetail", {"TaskId": task_id}))
        if detail["Status"] == "FINISH":
            return detail
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish in {timeout} s: {detail}")
