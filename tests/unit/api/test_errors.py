"""Every error is JSON with a stable code; bad input is 400 naming the field; never a
traceback, never HTML."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from reelflow.config import Settings
from reelflow.web.errors import field_name
from reelflow.wiring.http import create_app
from reelflow.wiring.server import build_server
from tests.unit.api.conftest import JSON_LIMIT, Key, TestClient, error_of, fields_of

# (method, path) of every route that takes a JSON body.
JSON_ROUTES = [
    ("POST", "/v1/tasks"),
    ("POST", "/v1/workflows"),
    ("PUT", "/v1/workflows/1"),
    ("POST", "/v1/templates/Transcode"),
    ("PUT", "/v1/templates/Transcode/100010"),
]
GARBAGE = [
    b"{bad json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"42",
    b'"text"',
    b"null",
    b"{}",
    b'{"input": {"bucket": []}}',
    b"<html><body>hi</body></html>",
    b"",
]
EVERY_ROUTE = [
    *JSON_ROUTES,
    ("GET", "/v1/tasks?limit=abc"),
    ("GET", "/v1/tasks/rf-nope"),
    ("POST", "/v1/tasks/rf-nope:cancel"),
    ("POST", "/v1/tasks/rf-nope:retry"),
    ("GET", "/v1/workflows?offset=-1"),
    ("GET", "/v1/workflows/999"),
    ("DELETE", "/v1/workflows/999"),
    ("POST", "/v1/workflows/999:enable"),
    ("POST", "/v1/workflows/999:disable"),
    ("GET", "/v1/templates?kind=Nope"),
    ("GET", "/v1/templates/Transcode/1"),
    ("DELETE", "/v1/templates/Transcode/1"),
    ("GET", "/v1/buckets/nope/objects?limit=5"),
    ("GET", "/v1/buckets/nope/objects"),
    ("GET", "/v1/buckets/media/objects/missing.mp4"),
    ("DELETE", "/v1/buckets/nope/objects/a"),
    ("POST", "/metrics"),
    ("GET", "/v1/nothing-here"),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Key]]:
    """One app for the read-only matrices below (nothing they send is ever accepted)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("shared") / "data")
    with build_server(settings) as runtime, TestClient(create_app(runtime)) as client:
        assert runtime.admin_key is not None
        yield client, Key(runtime.admin_account.id, runtime.admin_key.secret_key)


@pytest.mark.parametrize("body", GARBAGE, ids=lambda b: repr(b[:12]))
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("content_type", ["application/json", None, "text/plain"])
def test_garbage_bodies_get_json_400s(
    shared: tuple[TestClient, Key],
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
) -> None:
    client, admin = shared
    headers = dict(admin.headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert str(error["code"]).startswith(
        ("InvalidParameter", "MissingParameter", "UnknownParameter")
    )


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
@pytest.mark.parametrize("auth", [True, False], ids=["key", "no-key"])
def test_every_route_answers_errors_in_json(
    shared: tuple[TestClient, Key], method: str, path: str, auth: bool
) -> None:
    client, admin = shared
    headers = {**(admin.headers if auth else {}), "Accept": "text/html"}
    response = client.request(method, path, content=b"\x00{", headers=headers)
    assert response.status_code >= 400
    error_of(response)


def test_malformed_json(client: TestClient, admin: Key) -> None:
    response = client.post(
        "/v1/tasks",
        content=b'{"input": {"bucket": "media",}',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidParameter.MalformedJSON"
    assert "character" in str(error["message"])


def test_unknown_field_is_named(client: TestClient, admin: Key) -> None:
    body = {
        "input": {"bucket": "media", "key": "a.mp4"},
        "media_process_task": {"transcode_task_set": [{"definition": 100010, "colour": 1}]},
        "priorty": 3,
    }
    response = client.post("/v1/tasks", json=body, headers=admin.headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "UnknownParameter"
    assert set(fields_of(response)) == {
        "priorty",
        "media_process_task.transcode_task_set[0].colour",
    }


def test_wrong_types_are_named(client: TestClient, admin: Key) -> None:
    body = {
        "input": {"bucket": "media", "key": "a.mp4"},
        "media_process_task": {"transcode_task_set": [{"definition": "ten"}]},
        "priority": 99,
    }
    response = client.post("/v1/tasks", json=body, headers=admin.headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidParameterValue"
    assert set(fields_of(response)) == {
        "priority",
        "media_process_task.transcode_task_set[0].definition",
    }


def test_pascal_case_fields_are_reported_in_snake_case(client: TestClient, admin: Key) -> None:
    response = client.post(
        "/v1/templates/Transcode",
        json={"Container": "mp4", "VideoTemplate": {"Bitrate": 1000}},
        headers=admin.headers,
    )
    assert response.status_code == 400
    assert "video_template.codec" in fields_of(response)


def test_query_parameters_are_validated(client: TestClient, admin: Key) -> None:
    response = client.get("/v1/tasks", params={"limit": 0}, headers=admin.headers)
    assert response.status_code == 400
    assert fields_of(response) == ["limit"]


def test_json_body_over_the_limit_is_413(client: TestClient, admin: Key) -> None:
    big = {"input": {"bucket": "media", "key": "a.mp4"}, "session_context": "x" * JSON_LIMIT}
    response = client.post("/v1/tasks", json=big, headers=admin.headers)
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestTooLarge"


def test_streamed_json_body_over_the_limit_is_413(client: TestClient, admin: Key) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"session_context": "'
        for _ in range(JSON_LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        "/v1/tasks",
        content=chunks(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestTooLarge"


def test_unknown_route_and_method(client: TestClient, admin: Key) -> None:
    response = client.get("/v2/whatever", headers=admin.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"
    response = client.patch("/v1/tasks", headers=admin.headers)
    assert response.status_code == 405
    assert error_of(response)["code"] == "UnsupportedOperation.Method"


def test_unexpected_exception_is_a_generic_500(
    app: FastAPI, client: TestClient, admin: Key, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /etc/passwd")

    response = client.get("/boom")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "InternalError"
    assert "secret detail" not in response.text
    assert "request id" in str(error["message"])
    assert "secret detail" in caplog.text  # the traceback is in the log only
    assert json.loads(response.text)  # and the body is plain JSON


def test_a_validation_error_that_is_not_input_is_a_500(app: FastAPI, client: TestClient) -> None:
    @app.get("/bug")
    def bug() -> None:
        Settings(workers=0)  # a bug in the server, not bad input

    response = client.get("/bug")
    assert response.status_code == 500
    assert error_of(response)["code"] == "InternalError"


@pytest.mark.parametrize(
    ("loc", "name"),
    [
        (("body", "MediaProcessTask", "TranscodeTaskSet", 0, "Definition"),
         "media_process_task.transcode_task_set[0].definition"),
        (("query", "limit"), "limit"),
        (("body",), ""),
        (("video_template", "bitrate"), "video_template.bitrate"),
    ],
)  # fmt: skip
def test_field_names_are_spelt_like_the_engines(loc: tuple[int | str, ...], name: str) -> None:
    assert field_name(loc) == name
