"""The notification API: ``notify`` on tasks and workflows, the embedded queue's receive
(long polling) and acknowledge, a task's events, deliveries and their replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reelflow.config import Settings
from reelflow.notify.sinks.base import DeliveryOutcome
from reelflow.notify.sinks.memory import MemorySinks
from reelflow.specs.notify import NotifyTarget
from reelflow.wiring.server import ServerServices, build_server
from tests.unit.api.conftest import Key, TestClient, error_of, fields_of

SPEC = {"transcode_task_set": [{"definition": 100010}]}
QUEUE = {"type": "queue", "name": "events"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    settings = Settings(data_dir=tmp_path / "data", workers=1, notify_max_retry_seconds=0.2)
    with build_server(settings) as rt:
        yield rt


@pytest.fixture
def admin(runtime: ServerServices) -> Key:
    assert runtime.admin_key is not None
    return Key(runtime.admin_account.id, runtime.admin_key.secret_key)


@pytest.fixture
def bob(runtime: ServerServices) -> Key:
    key = runtime.accounts.create_key("bob")
    return Key(key.account.id, key.secret_key)


def submit(client: TestClient, key: Key, **extra: Any) -> str:
    body = {"input": {"bucket": "media", "key": "in/a.mp4"}, "media_process_task": SPEC, **extra}
    response = client.post("/v1/tasks", json=body, headers=key.headers)
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def finished_task(client: TestClient, key: Key, notify: dict[str, Any] = QUEUE) -> str:
    """A task that ends at once (cancelled) and so writes its finish event."""
    task_id = submit(client, key, notify=notify)
    assert client.post(f"/v1/tasks/{task_id}:cancel", headers=key.headers).status_code == 200
    return task_id


def receive(client: TestClient, key: Key, queue: str = "events", **body: Any) -> Any:
    response = client.post(f"/v1/queues/{queue}/messages:receive", json=body, headers=key.headers)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_a_task_accepts_a_notify_target_and_rejects_a_bad_one(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    task_id = submit(client, admin, notify={"Type": "url", "Url": "https://e.com/h"})
    assert runtime.engine.task_view(task_id).request.notify is not None
    response = client.post(
        "/v1/tasks",
        json={
            "input": {"bucket": "media", "key": "a.mp4"},
            "media_process_task": SPEC,
            "notify": {"type": "url", "url": "gopher://e.com"},
        },
        headers=admin.headers,
    )
    assert response.status_code == 400
    assert fields_of(response) == ["notify"]
    assert "http:// or https://" in str(error_of(response)["message"])


def test_a_workflows_target_reaches_its_tasks_unless_the_task_names_its_own(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    workflow = {
        "name": "wf",
        "trigger": {"bucket": "media"},
        "media_process_task": SPEC,
        "notify": {"type": "queue", "name": "wf-events", "mode": "Change"},
    }
    created = client.post("/v1/workflows", json=workflow, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["notify"]["name"] == "wf-events"
    workflow_id = created.json()["id"]
    body = {"input": {"bucket": "media", "key": "up/a.mp4"}, "workflow_id": workflow_id}
    inherited = client.post("/v1/tasks", json=body, headers=admin.headers).json()["task_id"]
    own = client.post("/v1/tasks", json={**body, "notify": QUEUE}, headers=admin.headers).json()[
        "task_id"
    ]
    notify = runtime.engine.task_view(inherited).request.notify
    assert notify is not None and (notify.name, notify.mode) == ("wf-events", "Change")
    notify = runtime.engine.task_view(own).request.notify
    assert notify is not None and notify.name == "events"


def test_receive_then_acknowledge(client: TestClient, admin: Key, runtime: ServerServices) -> None:
    task_id = finished_task(client, admin)
    assert runtime.dispatcher.run_pending() == 1
    [message] = receive(client, admin, visibility_timeout=60)
    assert message["receive_count"] == 1
    body = message["body"]
    assert body["EventId"] == message["event_id"]
    assert body["WorkflowTaskEvent"]["TaskId"] == task_id
    assert body["WorkflowTaskEvent"]["Status"] == "FINISH"
    assert receive(client, admin) == []  # hidden while being handled
    ack = client.delete(f"/v1/queues/events/messages/{message['receipt']}", headers=admin.headers)
    assert ack.status_code == 204
    again = client.delete(f"/v1/queues/events/messages/{message['receipt']}", headers=admin.headers)
    assert again.status_code == 404
    assert error_of(again)["code"] == "ResourceNotFound.ReceiptHandle"


def test_an_empty_body_means_one_message_at_once(client: TestClient, admin: Key) -> None:
    response = client.post("/v1/queues/events/messages:receive", headers=admin.headers)
    assert response.status_code == 200 and response.json() == {"messages": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"wait_seconds": 21}, "wait_seconds"),
        ({"visibility_timeout": 0}, "visibility_timeout"),
        ({"max_messages": 11}, "max_messages"),
        ({"colour": 1}, "colour"),
    ],
)
def test_receive_parameters_are_checked(
    client: TestClient, admin: Key, body: dict[str, int], field: str
) -> None:
    response = client.post("/v1/queues/q/messages:receive", json=body, headers=admin.headers)
    assert response.status_code == 400
    assert fields_of(response) == [field]


def test_a_bad_queue_name_is_a_400(client: TestClient, admin: Key) -> None:
    response = client.post("/v1/queues/-x/messages:receive", headers=admin.headers)
    assert response.status_code == 400 and fields_of(response) == ["queue"]


def test_a_long_poll_returns_as_soon_as_a_message_arrives(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    task_id = submit(client, admin, notify=QUEUE)

    def finish_later() -> None:
        time.sleep(0.3)
        runtime.engine.cancel(task_id)
        runtime.dispatcher.run_pending()

    threading.Thread(target=finish_later).start()
    started = time.monotonic()
    [message] = receive(client, admin, wait_seconds=10)
    elapsed = time.monotonic() - started
    assert message["body"]["WorkflowTaskEvent"]["TaskId"] == task_id
    assert 0.25 < elapsed < 3.0


def test_a_long_poll_with_nothing_to_receive_waits_its_time(client: TestClient, admin: Key) -> None:
    started = time.monotonic()
    assert receive(client, admin, wait_seconds=1) == []
    assert 0.9 < time.monotonic() - started < 3.0


def test_queues_belong_to_the_account_that_owns_the_task(
    client: TestClient, admin: Key, bob: Key, runtime: ServerServices
) -> None:
    finished_task(client, admin)
    runtime.dispatcher.run_pending()
    assert receive(client, bob) == []
    assert len(receive(client, admin)) == 1


def test_task_events_show_deliveries_and_attempts(
    client: TestClient, admin: Key, bob: Key, runtime: ServerServices
) -> None:
    task_id = finished_task(client, admin, notify={**QUEUE, "notify_key": "k"})
    runtime.dispatcher.run_pending()
    response = client.get(f"/v1/tasks/{task_id}/events", headers=admin.headers)
    assert response.status_code == 200, response.text
    [event] = response.json()["events"]
    assert (event["seq"], event["type"]) == (1, "task.finished")
    assert event["body"]["WorkflowTaskEvent"]["TaskId"] == task_id
    [delivery] = event["deliveries"]
    assert (delivery["state"], delivery["attempts"], delivery["destination"]) == (
        "delivered",
        1,
        "queue events",
    )
    assert delivery["target"]["notify_key"] == "***"
    [attempt] = delivery["attempt_log"]
    assert (attempt["number"], attempt["outcome"], attempt["error"]) == (1, "delivered", "")
    assert client.get(f"/v1/tasks/{task_id}/events", headers=bob.headers).status_code == 404
    assert client.get("/v1/tasks/rf-nope/events", headers=admin.headers).status_code == 404


def test_deliveries_page_by_state_and_dead_ones_replay(
    client: TestClient, admin: Key, bob: Key, runtime: ServerServices
) -> None:
    sinks = MemorySinks()
    runtime.dispatcher._sink_factory = sinks
    hook = {"type": "url", "url": "http://hooks.example:9/hook"}
    sinks.sink_for(_target(hook)).script.extend([DeliveryOutcome.failed("refused")] * 50)
    dead_task = finished_task(client, admin, notify=hook)
    for _ in range(3):
        finished_task(client, admin)
    runtime.dispatcher.run_pending()
    time.sleep(0.25)  # past the 0.2 s bound of this runtime
    runtime.dispatcher.run_pending()

    page = client.get("/v1/deliveries?limit=2", headers=admin.headers).json()
    assert len(page["deliveries"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"/v1/deliveries?limit=2&cursor={page['next_cursor']}", headers=admin.headers
    ).json()
    ids = [d["id"] for d in page["deliveries"] + rest["deliveries"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4 and rest["next_cursor"] is None
    [dead] = client.get("/v1/deliveries?state=dead", headers=admin.headers).json()["deliveries"]
    assert dead["task_id"] == dead_task and dead["last_error"] == "refused"
    assert dead["attempts"] >= 1 and dead["next_attempt_at"] is None
    by_task = client.get(f"/v1/deliveries?task_id={dead_task}", headers=admin.headers).json()
    assert [d["id"] for d in by_task["deliveries"]] == [dead["id"]]
    assert client.get("/v1/deliveries", headers=bob.headers).json()["deliveries"] == []
    assert client.get("/v1/deliveries?state=lost", headers=admin.headers).status_code == 400
    assert client.get("/v1/deliveries?cursor=zz", headers=admin.headers).status_code == 400

    assert (
        client.post(f"/v1/deliveries/{dead['id']}:replay", headers=bob.headers).status_code == 404
    )
    sinks.sink_for(_target(hook)).script.clear()
    replayed = client.post(f"/v1/deliveries/{dead['id']}:replay", headers=admin.headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["state"] == "pending"
    runtime.dispatcher.run_pending()
    one = client.get(f"/v1/deliveries/{dead['id']}", headers=admin.headers).json()
    assert one["state"] == "delivered"
    assert [a["outcome"] for a in one["attempt_log"]][-1] == "delivered"
    conflict = client.post(f"/v1/deliveries/{dead['id']}:replay", headers=admin.headers)
    assert conflict.status_code == 409
    assert client.get("/v1/deliveries/999999", headers=admin.headers).status_code == 404


def _target(raw: dict[str, Any]) -> NotifyTarget:
    return NotifyTarget.model_validate(raw)


def test_a_workflow_shows_the_last_error_of_its_notifications(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    hook = {"type": "url", "url": "http://no-such-host.invalid/hook"}
    workflow = {"name": "wf", "trigger": {"bucket": "media"}, "media_process_task": SPEC}
    created = client.post("/v1/workflows", json={**workflow, "notify": hook}, headers=admin.headers)
    workflow_id = created.json()["id"]
    assert created.json()["last_notify_error"] is None
    sinks = MemorySinks()
    runtime.dispatcher._sink_factory = sinks
    sinks.sink_for(_target(hook)).script.append(DeliveryOutcome.failed("ConnectError: no host"))
    body = {"input": {"bucket": "media", "key": "up/a.mp4"}, "workflow_id": workflow_id}
    task_id = client.post("/v1/tasks", json=body, headers=admin.headers).json()["task_id"]
    client.post(f"/v1/tasks/{task_id}:cancel", headers=admin.headers)
    runtime.dispatcher.run_pending()
    shown = client.get(f"/v1/workflows/{workflow_id}", headers=admin.headers).json()
    assert shown["last_notify_error"] == (
        "webhook http://no-such-host.invalid/hook: ConnectError: no host"
    )
    listed = client.get(f"/v1/deliveries?workflow_id={workflow_id}", headers=admin.headers)
    assert [d["task_id"] for d in listed.json()["deliveries"]] == [task_id]
    runtime.dispatcher.run_pending()  # not due yet: backoff (at most 1 s)
    # Tried again once due (waiting on that, not on a fixed sleep): the error is gone.
    deadline = time.monotonic() + 30
    while shown["last_notify_error"] is not None:
        assert time.monotonic() < deadline, shown["last_notify_error"]
        time.sleep(0.1)
        runtime.dispatcher.run_pending()
        shown = client.get(f"/v1/workflows/{workflow_id}", headers=admin.headers).json()
    assert sinks.sink_for(_target(hook)).sent, "delivered on the retry"
