"""Through a real ``reelflow serve`` with a real tiny clip: a webhook that is down while
the task finishes, the server SIGKILLed with the event undelivered, then restarted; the
embedded queue's visibility timeout; and ``reelflow events listen``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clips import ClipCache
from tests.integration.notify.receiver import Receiver
from tests.integration.server.media import RAW_180P, submit, upload
from tests.integration.server.process import ServerProcess, Servers, query, wait_finished

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The receiver listens on 127.0.0.1: the egress policy is opened for that address only.
FAST_RETRY = {
    "notify_retry_base_seconds": "0.2",
    "notify_retry_cap_seconds": "1",
    "egress_allow": "127.0.0.1/32",
}


def task_body(key: str, notify: dict[str, Any]) -> dict[str, Any]:
    return {
        "input": {"bucket": "media", "key": key},
        "media_process_task": {"transcode_task_set": [RAW_180P]},
        "notify": notify,
    }


def wait_until(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def check_finish_event(document: dict[str, Any], task_id: str) -> None:
    assert document["EventType"] == "WorkflowTask"
    event = document["WorkflowTaskEvent"]
    assert (event["TaskId"], event["Status"], event["ErrCode"]) == (task_id, "FINISH", 0)
    assert event["MetaData"]["Height"] == 180
    [result] = event["MediaProcessResultSet"]
    transcode = result["TranscodeTask"]
    assert (result["Type"], transcode["Status"]) == ("Transcode", "SUCCESS")
    assert transcode["Output"]["Path"].endswith("_180p.mp4")
    assert transcode["Output"]["Height"] == 180


def test_killed_with_an_undelivered_event_then_restarted_delivers_it(
    servers: Servers, clips: ClipCache, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    answer = [503]
    with Receiver(respond=lambda _n: answer[0]) as hook:
        first = servers.start(data_dir, **FAST_RETRY)
        with first.client() as client:
            upload(client, "in/tiny.mp4", clips(duration=1.0, width=320, height=180))
            notify = {"type": "url", "url": hook.url, "secret": "s", "notify_key": "k"}
            task_id = submit(client, task_body("in/tiny.mp4", notify))
            wait_finished(client, task_id, timeout=60)
        # Recorded by the server, not only received: the kill must not race the record.
        wait_until(
            lambda: query(data_dir, "SELECT count(*) AS n FROM notify_attempts")[0]["n"] >= 2,
            20,
            "a few refused attempts recorded",
        )
        assert first.kill() == -9
        [delivery] = query(data_dir, "SELECT state, attempts, last_status FROM notify_deliveries")
        assert (delivery["state"], delivery["last_status"]) == ("pending", 503)

        answer[0] = 200  # the receiver is back; so is the server
        second = servers.start(data_dir, **FAST_RETRY)
        [accepted] = hook.wait_accepted(1, timeout=30)
    check_finish_event(accepted.document, task_id)
    assert {r.document["EventId"] for r in hook.received} == {accepted.document["EventId"]}
    with second.client() as client:
        events = client.get(f"/v1/tasks/{task_id}/events").json()["events"]
    [delivery_doc] = events[0]["deliveries"]
    assert delivery_doc["state"] == "delivered"
    outcomes = [a["outcome"] for a in delivery_doc["attempt_log"]]
    assert outcomes[-1] == "delivered" and outcomes.count("failed") >= 2


def receive(client: httpx.Client, queue: str, **body: Any) -> list[dict[str, Any]]:
    response = client.post(f"/v1/queues/{queue}/messages:receive", json=body)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def test_embedded_queue_redelivers_after_the_visibility_timeout_and_events_listen(
    servers: Servers, clips: ClipCache, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server: ServerProcess = servers.start(data_dir)
    clip = clips(duration=1.0, width=320, height=180)
    with server.client() as client:
        upload(client, "in/tiny.mp4", clip)
        task_id = submit(client, task_body("in/tiny.mp4", {"name": "clips"}))
        [first] = receive(client, "clips", wait_seconds=20, visibility_timeout=1)
        check_finish_event(first["body"], task_id)
        assert receive(client, "clips") == []  # hidden for 1 s
        time.sleep(1.2)  # not acknowledged: it comes back
        [again] = receive(client, "clips", wait_seconds=5)
        assert (again["event_id"], again["receive_count"]) == (first["event_id"], 2)
        gone = client.delete(f"/v1/queues/clips/messages/{first['receipt']}")
        assert gone.status_code == 404  # the first receipt died with the second receive
        assert client.delete(f"/v1/queues/clips/messages/{again['receipt']}").status_code == 204

        second_task = submit(client, task_body("in/tiny.mp4", {"name": "clips"}))
        argv = [sys.executable, "-m", "reelflow.cli.main", "events", "listen", "clips",
                "--count", "1", "--json", "--data-dir", str(data_dir)]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        check_finish_event(document, second_task)
        assert receive(client, "clips", wait_seconds=1) == []  # the listener acknowledged it
