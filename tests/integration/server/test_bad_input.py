"""Bad input over the wire: each case gets its 4xx, a JSON ``{"error": {"code",
"message"}}`` naming the field, never a traceback or HTML; the server stays healthy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.integration.server.process import ServerProcess
from tests.integration.server.responses import api_error, fields_of

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}
INPUT = {"bucket": "media", "key": "bad/clip.mp4"}
SNAPSHOT = {
    "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["0.5s"]}]
}
WITH_EXTRA = {"transcode_task_set": [{"definition": 100010, "bitrate": 5}]}  # no such field
MIB = 1024 * 1024
TOO_BIG = 10**20  # beyond SQLite's 64-bit integers


def task(**changes: Any) -> dict[str, Any]:
    """A valid task body with ``changes`` applied (``None`` removes a field)."""
    body: dict[str, Any] = {"input": INPUT, "media_process_task": SNAPSHOT, **changes}
    return {k: v for k, v in body.items() if v is not None}


def transcode(definition: object) -> dict[str, Any]:
    return {"transcode_task_set": [{"definition": definition}]}


def workflow(**changes: Any) -> dict[str, Any]:
    return {"name": "bad", "trigger": {"bucket": "media"}, "media_process_task": SNAPSHOT} | changes


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    code: str
    message: str  # a fragment the message must contain
    fields: list[str] = field(default_factory=list)  # [] = no field is blamed
    request: dict[str, Any] = field(default_factory=dict)  # httpx keyword arguments


DEFINITION = "media_process_task.transcode_task_set[0].definition"
CASES = {
    # -- the body is not a JSON object ---------------------------------------------------
    "malformed JSON": Case(
        "POST", "/v1/tasks", 400, "InvalidParameter.MalformedJSON", "the body is not valid JSON",
        request={"content": b'{"input": ', "headers": JSON},
    ),
    "JSON array": Case(
        "POST", "/v1/tasks", 400, "InvalidParameterValue", "the body must be a JSON object",
        ["body"], {"content": b"[1, 2]", "headers": JSON},
    ),
    "empty body": Case(
        "POST", "/v1/tasks", 400, "MissingParameter", "a JSON body is required", ["body"],
        {"content": b"", "headers": JSON},
    ),
    # -- fields --------------------------------------------------------------------------
    "unknown field": Case(
        "POST", "/v1/tasks", 400, "UnknownParameter", "colour: Extra inputs are not permitted",
        ["colour"], {"json": task(colour="red")},
    ),
    "unknown nested field": Case(
        "POST", "/v1/tasks", 400, "UnknownParameter", "Extra inputs are not permitted",
        ["media_process_task.transcode_task_set[0].bitrate"],
        {"json": task(media_process_task=WITH_EXTRA)},
    ),
    "missing field": Case(
        "POST", "/v1/tasks", 400, "MissingParameter", "input: Field required", ["input"],
        {"json": task(input=None)},
    ),
    "wrong type": Case(
        "POST", "/v1/tasks", 400, "InvalidParameterValue", "priority: Input should be a valid "
        "integer", ["priority"], {"json": task(priority="high")},
    ),
    "wrong nested type": Case(
        "POST", "/v1/tasks", 400, "InvalidParameterValue", "valid integer", [DEFINITION],
        {"json": task(media_process_task=transcode("abc"))},
    ),
    "out of range": Case(
        "POST", "/v1/tasks", 400, "InvalidParameterValue", "less than or equal to 10",
        ["priority"], {"json": task(priority=11)},
    ),
    "bad template value": Case(
        "POST", "/v1/templates/Transcode", 400, "InvalidParameterValue",
        "width/height must be 0 or 128..4096, got 5", ["video_template.height"],
        {"json": {"container": "mp4", "video_template": {"codec": "h264", "height": 5},
                  "audio_template": {"codec": "aac"}}},
    ),
    "path parameter type": Case(
        "GET", "/v1/workflows/abc", 400, "InvalidParameterValue", "valid integer",
        ["workflow_id"],
    ),
    # -- references to things that do not exist (404, as for the URL's resource) -----------
    "unknown template id": Case(
        "POST", "/v1/tasks", 404, "ResourceNotFound.TemplateNotExist",
        "no Transcode template with definition 999", [DEFINITION],
        {"json": task(media_process_task=transcode(999))},
    ),
    "unknown template id in a workflow": Case(
        "POST", "/v1/workflows", 404, "ResourceNotFound.TemplateNotExist",
        "no Transcode template with definition 999", [DEFINITION],
        {"json": workflow(media_process_task=transcode(999))},
    ),
    "unknown workflow id": Case(
        "POST", "/v1/tasks", 404, "ResourceNotFound.WorkflowNotExist", "no workflow with id 4242",
        ["workflow_id"], {"json": task(media_process_task=None, workflow_id=4242)},
    ),
    "workflow trigger on a missing bucket": Case(
        "POST", "/v1/workflows", 404, "ResourceNotFound.BucketNotExist",
        "bucket 'nope' does not exist", ["trigger.bucket"],
        {"json": workflow(trigger={"bucket": "nope"})},
    ),
    "workflow output to a missing bucket": Case(
        "POST", "/v1/workflows", 404, "ResourceNotFound.BucketNotExist",
        "bucket 'nope' does not exist", ["output_bucket"], {"json": workflow(output_bucket="nope")},
    ),
    "task input from a missing bucket": Case(
        "POST", "/v1/tasks", 404, "ResourceNotFound.BucketNotExist",
        "bucket 'nope' does not exist", ["input.bucket"],
        {"json": task(input={"bucket": "nope", "key": "a.mp4"})},
    ),
    "unknown task": Case(
        "GET", "/v1/tasks/rf-nope", 404, "ResourceNotFound.TaskNotFound",
        "no task with id 'rf-nope'",
    ),
    "unknown route": Case("GET", "/v1/nope", 404, "ResourceNotFound", "no route GET /v1/nope"),
    "wrong method": Case("DELETE", "/v1/tasks", 405, "UnsupportedOperation.Method", "Not Allowed"),
    # -- sizes ---------------------------------------------------------------------------
    "oversized JSON body": Case(
        "POST", "/v1/tasks", 413, "RequestTooLarge", "larger than the limit of 1048576 bytes",
        request={"json": task(session_context="x" * (MIB + 10))},
    ),
    "oversized chunked JSON body": Case(
        "POST", "/v1/tasks", 413, "RequestTooLarge", "larger than the limit of 1048576 bytes",
        request={"content": iter([b'{"session_context": "', b"x" * MIB, b'"}']), "headers": JSON},
    ),
    # -- object keys ---------------------------------------------------------------------
    "key with a '..' segment": Case(
        "PUT", "/v1/buckets/media/objects/bad/%2E%2E/x.mp4", 400, "InvalidParameterValue.Key",
        "contains a '..' segment", request={"content": b"data"},
    ),
    "key with NUL": Case(
        "PUT", "/v1/buckets/media/objects/bad/a%00b.mp4", 400, "InvalidParameterValue.Key",
        "control character U+0000", request={"content": b"data"},
    ),
    "key of 1100 bytes": Case(
        "PUT", "/v1/buckets/media/objects/" + "k" * 1100, 400, "InvalidParameterValue.Key",
        "1100 bytes long in UTF-8; the limit is 1024", request={"content": b"data"},
    ),
    "key with a backslash": Case(
        "GET", "/v1/buckets/media/objects/bad%5Cx.mp4", 400, "InvalidParameterValue.Key",
        "contains a backslash",
    ),
    # -- authentication ------------------------------------------------------------------
    "no key": Case(
        "GET", "/v1/tasks", 401, "AuthFailure.InvalidAuthorization", "needs an API key",
        request={"headers": {"Authorization": ""}},
    ),
    "not a bearer key": Case(
        "GET", "/v1/tasks", 401, "AuthFailure.InvalidAuthorization",
        "must be 'Bearer <secret_key>'", request={"headers": {"Authorization": "Basic YTpi"}},
    ),
    "unknown key": Case(
        "PUT", "/v1/buckets/media/objects/bad/unauthorized.bin", 401,
        "AuthFailure.SecretIdNotFound", "no active API key has this secret",
        request={"headers": {"Authorization": "Bearer not-a-key"}, "content": b"data"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as admin:
        yield admin


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_gets_a_json_4xx(client: httpx.Client, case: Case) -> None:
    response = client.request(case.method, case.path, **case.request)

    error = api_error(response, case.status, case.code)
    assert case.message in error["message"]
    assert fields_of(error) == case.fields
    if case.status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_deeply_nested_json_is_a_400(client: httpx.Client) -> None:
    # Too deep for the JSON parser; FastAPI answers for it, with its own generic wording.
    response = client.post("/v1/tasks", content=b"[" * 200_000, headers=JSON)
    error = api_error(response, 400, "InvalidParameter")
    assert error["message"] == "There was an error parsing the body"


def test_refused_objects_were_not_stored(client: httpx.Client) -> None:
    listing = client.get("/v1/buckets/media/objects", params={"prefix": "bad/"}).json()
    assert listing["objects"] == []
    assert client.head("/v1/buckets/media/objects/bad/unauthorized.bin").status_code == 404


BUGS = {
    # The planner or the runner refuses these keys later (the task fails with
    # InvalidParameterValue.Key), but the submission should be refused, naming the field.
    "task input key with '..'": (
        task(input={"bucket": "media", "key": "../x.mp4"}), "input.key"),
    "task input key with NUL": (
        task(input={"bucket": "media", "key": "a\x00.mp4"}), "input.key"),
    "task output dir with '..'": (task(output={"dir": "/../../etc/"}), "output.dir"),
}  # fmt: skip


@pytest.mark.parametrize(("body", "name"), BUGS.values(), ids=BUGS.keys())
def test_bad_keys_in_a_task_body_are_refused(
    client: httpx.Client, body: dict[str, Any], name: str
) -> None:
    error = api_error(client.post("/v1/tasks", json=body), 400, "InvalidParameterValue.Key")
    assert fields_of(error) == [name]


HUGE_IDS = {
    "workflow path id": ("GET", f"/v1/workflows/{TOO_BIG}", {}),
    "template path id": ("GET", f"/v1/templates/Transcode/{TOO_BIG}", {}),
    "workflow_id filter": ("GET", f"/v1/tasks?workflow_id={TOO_BIG}", {}),
    "body workflow_id": (
        "POST", "/v1/tasks", {"json": task(media_process_task=None, workflow_id=TOO_BIG)}),
    "body template id": (
        "POST", "/v1/tasks", {"json": task(media_process_task=transcode(TOO_BIG))}),
}  # fmt: skip


@pytest.mark.parametrize(("method", "path", "request_"), HUGE_IDS.values(), ids=HUGE_IDS.keys())
def test_ids_beyond_64_bits_are_a_4xx(
    client: httpx.Client, method: str, path: str, request_: dict[str, Any]
) -> None:
    response = client.request(method, path, **request_)
    assert 400 <= response.status_code < 500, response.text
    api_error(response, response.status_code, response.json()["error"]["code"])


def test_server_is_still_healthy_afterwards(server: ServerProcess, client: httpx.Client) -> None:
    assert server.poll() is None
    health = httpx.get(f"{server.url}/healthz", timeout=5)
    assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})
    assert client.get("/v1/tasks").status_code == 200
