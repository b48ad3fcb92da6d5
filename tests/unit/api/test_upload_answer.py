"""An object PUT says what it started: ``tasks`` lists a task per matching enabled workflow
(empty when none matches), and the server logs one line either way."""

from __future__ import annotations

import logging

import pytest

from reelflow.specs.tasks import MediaProcessTask, TranscodeTaskInput
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient

URL = "/v1/buckets/media/objects/"
LOGGER = "reelflow.web.objects"


def workflow(runtime: ServerServices, name: str, folder: str, *, enabled: bool = True) -> int:
    spec = WorkflowSpec(
        name=name,
        trigger=WorkflowTrigger(bucket="media", dir=folder),
        media_process_task=MediaProcessTask(
            transcode_task_set=[TranscodeTaskInput(definition=100010)]
        ),
    )
    return runtime.workflows.create(runtime.admin_account.id, spec, enabled=enabled).id


@pytest.fixture
def hooked(client: TestClient, runtime: ServerServices) -> TestClient:
    client.app.state.on_upload = runtime.triggers.upload  # type: ignore[attr-defined]
    return client


def test_the_answer_lists_the_tasks_started(
    hooked: TestClient, runtime: ServerServices, admin: Key, caplog: pytest.LogCaptureFixture
) -> None:
    first = workflow(runtime, "one", "in/")
    second = workflow(runtime, "two", "")  # the whole bucket
    workflow(runtime, "off", "in/", enabled=False)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = hooked.put(URL + "in/a.mp4", content=b"x" * 100, headers=admin.headers)
    assert response.status_code == 200, response.text
    tasks = response.json()["tasks"]
    assert [(t["workflow_id"], t["created"]) for t in tasks] == [(first, True), (second, True)]
    for task in tasks:
        doc = hooked.get(f"/v1/tasks/{task['task_id']}", headers=admin.headers).json()
        assert doc["workflow_id"] == task["workflow_id"]
    [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert line.startswith("upload media/in/a.mp4 (100 bytes): tasks ")
    assert all(t["task_id"] in line for t in tasks)

    # Written again, the object is a new version: its workflows run again.
    again = hooked.put(URL + "in/a.mp4", content=b"x" * 100, headers=admin.headers).json()
    assert [t["created"] for t in again["tasks"]] == [True, True]
    assert {t["task_id"] for t in again["tasks"]}.isdisjoint(t["task_id"] for t in tasks)


def test_no_matching_workflow_is_an_empty_list_and_a_log_line(
    hooked: TestClient, runtime: ServerServices, admin: Key, caplog: pytest.LogCaptureFixture
) -> None:
    workflow(runtime, "audio only", "in/")
    workflow(runtime, "off", "notes/", enabled=False)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = hooked.put(URL + "notes/a.mp4", content=b"x", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["tasks"] == []
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines == ["upload media/notes/a.mp4 (1 bytes): no task started, no enabled workflow "
                     "matches it"]  # fmt: skip


def test_the_answer_is_described_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    put = schema["paths"]["/v1/buckets/{bucket}/objects/{key}"]["put"]
    ref = put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    upload = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert "tasks" in upload["required"]
    assert "empty when no enabled workflow" in upload["properties"]["tasks"]["description"]
    started = schema["components"]["schemas"]["StartedTask"]
    assert set(started["properties"]) == {"task_id", "workflow_id", "created"}
    assert all(p.get("description") for p in started["properties"].values())


def test_every_schema_is_described_in_openapi_itself(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    undescribed = sorted(name for name, schema in schemas.items() if not schema.get("description"))
    assert undescribed == []
    pointers = [name for name, s in schemas.items() if "docstring" in s["description"]]
    assert pointers == []
    notify = schemas["NotifyTarget"]
    assert all(p.get("description") for p in notify["properties"].values())
    pascal = [n for n, s in schemas.items() if any(k[0].isupper() for k in s.get("properties", {}))]
    assert pascal == []  # snake_case everywhere (requests also accept PascalCase)
