"""``session_id`` makes a submission idempotent; ``session_context`` comes back as given."""

from __future__ import annotations

import httpx
import pytest

from tests.clips import ClipCache
from tests.integration.server.media import upload
from tests.integration.server.process import wait_finished

pytestmark = pytest.mark.integration

CONTEXT = '{"user": 7, "note": "é ✓"}'  # kept byte for byte, whatever it holds


def test_repeated_session_id_returns_the_first_task(admin: httpx.Client, clips: ClipCache) -> None:
    upload(admin, "sessions/clip.mp4", clips(duration=1.0))

    def body(session_id: str, context: str) -> dict[str, object]:
        return {
            "input": {"bucket": "media", "key": "sessions/clip.mp4"},
            "media_process_task": {
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["0.5s"]}
                ]
            },
            "output": {"dir": f"/sessions/{session_id}/"},
            "session_id": session_id,
            "session_context": context,
        }

    first = admin.post("/v1/tasks", json=body("upload-42", CONTEXT))
    repeat = admin.post("/v1/tasks", json=body("upload-42", "a different context"))
    other = admin.post("/v1/tasks", json=body("upload-43", "third"))

    assert first.status_code == 201, first.text
    assert repeat.status_code == 200, repeat.text
    assert other.status_code == 201, other.text
    task_id = first.json()["task_id"]
    assert repeat.json() == {"task_id": task_id}
    assert other.json()["task_id"] != task_id

    doc = wait_finished(admin, task_id)
    assert (doc["session_id"], doc["session_context"]) == ("upload-42", CONTEXT)
    assert doc["phase"] == "succeeded"
    later = wait_finished(admin, other.json()["task_id"])
    assert (later["session_id"], later["session_context"]) == ("upload-43", "third")
    listed = admin.get("/v1/tasks", params={"limit": 100}).json()["tasks"]
    mine = [t for t in listed if t["session_id"] == "upload-42"]
    assert [(t["id"], t["session_context"]) for t in mine] == [(task_id, CONTEXT)]
    # Still the same task once it has finished (the window is 7 days, not "while running").
    again = admin.post("/v1/tasks", json=body("upload-42", "after the end"))
    assert (again.status_code, again.json()) == (200, {"task_id": task_id})
