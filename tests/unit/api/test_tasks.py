"""``/v1/tasks``: submit, dedupe by session, read, list, cancel, retry, isolation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from reelflow.specs.states import TaskState
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import OTHER_BUCKET, Key, TestClient, error_of, fields_of

SPEC = {
    "transcode_task_set": [{"definition": 100010}],
    "sample_snapshot_task_set": [{"definition": 10}],
}


def body(**extra: Any) -> dict[str, Any]:
    return {"input": {"bucket": "media", "key": "in/a.mp4"}, "media_process_task": SPEC, **extra}


def submit(client: TestClient, key: Key, **extra: Any) -> str:
    response = client.post("/v1/tasks", json=body(**extra), headers=key.headers)
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def run_until_finished(runtime: ServerServices, task_id: str) -> None:
    done = runtime.scheduler.run_until(
        lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=30
    )
    assert done


def test_submit_and_read(client: TestClient, admin: Key) -> None:
    task_id = submit(client, admin, session_context="ctx", priority=5, output={"dir": "out"})
    response = client.get(f"/v1/tasks/{task_id}", headers=admin.headers)
    assert response.status_code == 200
    doc = response.json()
    assert doc["id"] == task_id
    assert (doc["state"], doc["phase"]) == ("WAITING", "queued")
    assert doc["priority"] == 5
    assert doc["session_context"] == "ctx"
    assert doc["input"] == {"type": "bucket", "bucket": "media", "key": "in/a.mp4", "url": ""}
    assert doc["metadata"] is None
    assert [
        (s["index"], s["kind"], s["definition"], s["status"], s["state"]) for s in doc["subtasks"]
    ] == [
        (0, "Transcode", 100010, "WAITING", "pending"),
        (1, "SampleSnapshot", 10, "WAITING", "pending"),
    ]
    assert doc["workflow_task"]["TaskId"] == task_id
    assert doc["workflow_task"]["Status"] == "WAITING"
    assert len(doc["workflow_task"]["MediaProcessResultSet"]) == 2


def test_pascal_case_media_process_task_is_accepted(client: TestClient, admin: Key) -> None:
    spec = {"TranscodeTaskSet": [{"Definition": 100010}]}
    task = {
        "input": {"url": "https://example.com/a.mp4"},
        "media_process_task": spec,
        "output": {"bucket": "media"},
    }
    response = client.post("/v1/tasks", json=task, headers=admin.headers)
    assert response.status_code == 201, response.text


def test_a_repeated_session_id_returns_the_first_task(client: TestClient, admin: Key) -> None:
    first = client.post("/v1/tasks", json=body(session_id="s-1"), headers=admin.headers)
    again = client.post("/v1/tasks", json=body(session_id="s-1"), headers=admin.headers)
    other = client.post("/v1/tasks", json=body(session_id="s-2"), headers=admin.headers)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["task_id"] == first.json()["task_id"]
    assert other.json()["task_id"] != first.json()["task_id"]


@pytest.mark.parametrize(
    ("task", "code", "fields"),
    [
        (
            body(media_process_task={"transcode_task_set": [{"definition": 99999}]}),
            "ResourceNotFound.TemplateNotExist",
            ["media_process_task.transcode_task_set[0].definition"],
        ),
        (
            {"input": {"bucket": "nope", "key": "a.mp4"}, "media_process_task": SPEC},
            "ResourceNotFound.BucketNotExist",
            ["input.bucket"],
        ),
        (body(output={"bucket": "nope"}), "ResourceNotFound.BucketNotExist", ["output.bucket"]),
        (body(workflow_id=5), "InvalidParameterValue", ["body"]),
        ({"input": {"bucket": "media", "key": "a.mp4"}}, "InvalidParameterValue", ["body"]),
        (
            {"input": {"bucket": "media", "key": "a.mp4"}, "workflow_id": 77},
            "ResourceNotFound.WorkflowNotExist",
            ["workflow_id"],
        ),
        (
            {"input": {"url": "ftp://host/a.mp4"}, "media_process_task": SPEC},
            "InvalidParameterValue",
            ["input.url"],
        ),
        (
            {"input": {"url": "https://host/a.mp4"}, "media_process_task": SPEC},
            "InvalidParameterValue",
            ["output"],
        ),
        (
            {"input": {"bucket": "media"}, "media_process_task": SPEC},
            "InvalidParameterValue",
            ["input"],
        ),
        (body(session_id="s" * 51), "InvalidParameterValue", ["session_id"]),
        (body(media_process_task={}), "InvalidParameterValue", ["media_process_task"]),
        (
            body(
                media_process_task={
                    "transcode_task_set": [
                        {
                            "definition": 100010,
                            "output_storage": {"cos_output_storage": {"bucket": "x"}},
                        }
                    ]
                }
            ),
            "ResourceNotFound.BucketNotExist",
            ["media_process_task"],
        ),
    ],
    ids=[
        "unknown-template",
        "input-bucket",
        "output-bucket",
        "workflow-and-spec",
        "no-spec",
        "unknown-workflow",
        "ftp-url",
        "url-without-output",
        "no-key",
        "long-session",
        "empty-spec",
        "subtask-bucket",
    ],
)
def test_bad_submissions_name_the_field(
    client: TestClient, admin: Key, task: dict[str, Any], code: str, fields: list[str]
) -> None:
    response = client.post("/v1/tasks", json=task, headers=admin.headers)
    # A missing resource named in the body is a 404 with its ResourceNotFound.* code.
    assert response.status_code == (404 if code.startswith("ResourceNotFound") else 400)
    assert error_of(response)["code"] == code
    assert fields_of(response) == fields


def test_submit_with_a_workflow(client: TestClient, admin: Key) -> None:
    workflow = {
        "name": "wf",
        "trigger": {"bucket": "media", "dir": "in/"},
        "media_process_task": SPEC,
        "priority": 3,
        "output_dir": "/done/",
    }
    workflow_id = client.post("/v1/workflows", json=workflow, headers=admin.headers).json()["id"]
    response = client.post(
        "/v1/tasks",
        json={
            "input": {"bucket": "media", "key": "x/b.mov"},
            "workflow_id": workflow_id,
            "session_id": "wf-1",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    doc = client.get(f"/v1/tasks/{response.json()['task_id']}", headers=admin.headers).json()
    assert doc["workflow_id"] == workflow_id
    assert doc["priority"] == 3
    assert doc["session_id"] == "wf-1"
    assert len(doc["subtasks"]) == 2


def test_list_filters_and_cursor(client: TestClient, admin: Key, runtime: ServerServices) -> None:
    ids = [submit(client, admin) for _ in range(5)]
    runtime.engine.cancel(ids[0])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/tasks", params=params, headers=admin.headers).json()
        assert len(page["tasks"]) <= 2
        seen += [t["id"] for t in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # newest first
    waiting = client.get("/v1/tasks?state=WAITING", headers=admin.headers).json()["tasks"]
    assert {t["id"] for t in waiting} == set(ids[1:])
    finished = client.get("/v1/tasks?state=FINISH", headers=admin.headers).json()["tasks"]
    assert [t["id"] for t in finished] == [ids[0]]
    both = client.get("/v1/tasks?state=cancelled&state=queued", headers=admin.headers).json()
    assert len(both["tasks"]) == 5
    created = client.get(f"/v1/tasks/{ids[2]}", headers=admin.headers).json()["created_at"]
    after = client.get("/v1/tasks", params={"created_after": created}, headers=admin.headers)
    assert [t["id"] for t in after.json()["tasks"]] == ids[:1:-1]
    naive = created.removesuffix("Z")
    before = client.get("/v1/tasks", params={"created_before": naive}, headers=admin.headers)
    assert [t["id"] for t in before.json()["tasks"]] == ids[1::-1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "DONE"}, "state"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"limit": 101}, "limit"),
        ({"created_after": "yesterday"}, "created_after"),
    ],
)
def test_bad_list_parameters(
    client: TestClient, admin: Key, params: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/tasks", params=params, headers=admin.headers)
    assert response.status_code == 400
    assert fields_of(response) == [field]


def test_cancel(client: TestClient, admin: Key) -> None:
    task_id = submit(client, admin)
    response = client.post(f"/v1/tasks/{task_id}:cancel", headers=admin.headers)
    assert response.status_code == 200
    doc = response.json()
    assert (doc["state"], doc["phase"]) == ("FINISH", "cancelled")
    assert {s["status"] for s in doc["subtasks"]} == {"FAIL"}
    again = client.post(f"/v1/tasks/{task_id}:cancel", headers=admin.headers)
    assert again.status_code == 200  # idempotent


def test_retry_only_a_failed_task(client: TestClient, admin: Key, runtime: ServerServices) -> None:
    task_id = submit(client, admin)  # the source object does not exist: the probe fails
    response = client.post(f"/v1/tasks/{task_id}:retry", headers=admin.headers)
    assert response.status_code == 409
    assert error_of(response)["code"] == "FailedOperation.State"
    run_until_finished(runtime, task_id)
    doc = client.get(f"/v1/tasks/{task_id}", headers=admin.headers).json()
    assert (doc["state"], doc["phase"]) == ("FINISH", "failed")
    assert doc["err_code"] == "ResourceNotFound.ObjectNotFound"
    assert {s["status"] for s in doc["subtasks"]} == {"FAIL"}
    response = client.post(f"/v1/tasks/{task_id}:retry", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"task_id": task_id, "retried": [0, 1]}
    assert runtime.engine.task_view(task_id).state is TaskState.QUEUED
    cancelled = submit(client, admin)
    client.post(f"/v1/tasks/{cancelled}:cancel", headers=admin.headers)
    for action in ("retry", "cancel"):
        response = client.post(f"/v1/tasks/{cancelled}:{action}", headers=admin.headers)
        assert response.status_code == (409 if action == "retry" else 200)


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", ":cancel"), ("POST", ":retry")]
)
def test_another_accounts_task_is_404(
    client: TestClient, admin: Key, bob: Key, method: str, suffix: str
) -> None:
    task_id = submit(client, admin)
    response = client.request(method, f"/v1/tasks/{task_id}{suffix}", headers=bob.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound.TaskNotFound"
    assert client.get("/v1/tasks", headers=bob.headers).json()["tasks"] == []
    still = client.get(f"/v1/tasks/{task_id}", headers=admin.headers).json()
    assert still["phase"] == "queued"


def test_another_accounts_bucket_cannot_be_used(client: TestClient, admin: Key, bob: Key) -> None:
    response = client.post("/v1/tasks", json=body(), headers=bob.headers)
    assert response.status_code == 404
    assert fields_of(response) == ["input.bucket"]
    task = {"input": {"bucket": OTHER_BUCKET, "key": "a.mp4"}, "media_process_task": SPEC}
    assert client.post("/v1/tasks", json=task, headers=bob.headers).status_code == 201
    response = client.post(
        "/v1/tasks", json=body(output={"bucket": OTHER_BUCKET}), headers=admin.headers
    )
    assert fields_of(response) == ["output.bucket"]


# -- 201 or 200 from the engine, and no reads of its own ------------------------------------


@pytest.mark.parametrize("skew", [timedelta(hours=-1), timedelta(hours=1)], ids=["behind", "ahead"])
def test_created_or_repeated_does_not_depend_on_the_clock(
    client: TestClient,
    admin: Key,
    runtime: ServerServices,
    monkeypatch: pytest.MonkeyPatch,
    skew: timedelta,
) -> None:
    """The engine's clock (the database server's, on another host) may differ from this
    process's: 201 or 200 is what the engine did, not a comparison of times."""
    monkeypatch.setattr(runtime.engine.store, "now", lambda: datetime.now(UTC) + skew)
    first = client.post("/v1/tasks", json=body(session_id="skew"), headers=admin.headers)
    again = client.post("/v1/tasks", json=body(session_id="skew"), headers=admin.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["task_id"] == first.json()["task_id"]


class _Statements:
    """Transactions begun and bucket lookups made on the runtime's database."""

    def __init__(self, runtime: ServerServices) -> None:
        self.transactions = 0
        self.bucket_lookups = 0
        event.listen(runtime.db, "begin", self._begin)
        event.listen(runtime.db, "before_cursor_execute", self._execute)

    def _begin(self, conn: object) -> None:
        self.transactions += 1

    def _execute(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM buckets" in statement:
            self.bucket_lookups += 1

    def of(self, send: Callable[[], object]) -> tuple[int, int]:
        self.transactions = self.bucket_lookups = 0
        send()
        return self.transactions, self.bucket_lookups


def test_submission_reads_each_bucket_once_and_never_rereads_the_task(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    def post(**extra: Any) -> Callable[[], object]:
        return lambda: client.post("/v1/tasks", json=body(**extra), headers=admin.headers)

    submit(client, admin)  # warm whatever the first request of a key reads
    statements = _Statements(runtime)
    plain = statements.of(post())
    with_output = statements.of(post(output={"bucket": "media"}))
    first = statements.of(post(session_id="once"))
    repeated = statements.of(post(session_id="once"))
    # Only the engine checks buckets: the source (before planning), then the output (in the
    # transaction that writes the task); naming the same bucket as output adds nothing.
    assert plain[1] == with_output[1] == first[1] == 2
    assert with_output[0] == plain[0]
    # A repeated session is answered by the engine's first check: no bucket, no re-read.
    assert repeated[1] == 0
    assert repeated[0] < plain[0] < first[0]


@pytest.mark.parametrize(
    ("task", "field"),
    [
        # The input is named first, as before the engine checked it.
        (
            {
                "input": {"bucket": "nope", "key": "a.mp4"},
                "output": {"bucket": "nope-out"},
                "media_process_task": SPEC,
            },
            "input.bucket",
        ),
        # An output bucket that every sub-task overrides is still checked.
        (
            body(
                output={"bucket": "nope"},
                media_process_task={
                    "transcode_task_set": [
                        {
                            "definition": 100010,
                            "output_storage": {"cos_output_storage": {"bucket": "media"}},
                        }
                    ]
                },
            ),
            "output.bucket",
        ),
        (
            {
                "input": {"url": "https://host/a.mp4"},
                "output": {"bucket": "nope"},
                "media_process_task": SPEC,
            },
            "output.bucket",
        ),
    ],
    ids=["input-before-output", "overridden-output", "url-input"],
)
def test_a_missing_bucket_names_its_field(
    client: TestClient, admin: Key, runtime: ServerServices, task: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/tasks", json=task, headers=admin.headers)
    assert response.status_code == 404, response.text
    error = error_of(response)
    assert error["code"] == "ResourceNotFound.BucketNotExist"
    assert fields_of(response) == [field]
    assert str(error["message"]).startswith(f"{field}: bucket '")
    assert runtime.engine.count_tasks() == 0


def test_a_workflows_missing_output_bucket_is_the_workflows(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    """A bucket the body does not name is not blamed on the body's ``output``."""
    runtime.buckets.ensure("gone", admin.account_id)
    workflow = {
        "name": "wf",
        "trigger": {"bucket": "media", "dir": "in/"},
        "output_bucket": "gone",
        "media_process_task": SPEC,
    }
    created = client.post("/v1/workflows", json=workflow, headers=admin.headers)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    with runtime.db.begin() as conn:  # the bucket goes away after the workflow was made
        conn.execute(text("DELETE FROM buckets WHERE name = 'gone'"))
    task = {"input": {"bucket": "media", "key": "in/a.mp4"}, "workflow_id": workflow_id}
    response = client.post("/v1/tasks", json=task, headers=admin.headers)
    assert response.status_code == 404, response.text
    assert error_of(response)["code"] == "ResourceNotFound.BucketNotExist"
    assert fields_of(response) == ["media_process_task"]
