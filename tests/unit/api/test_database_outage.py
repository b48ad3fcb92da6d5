"""The API while the database cannot be reached: 503 + ``Retry-After`` +
``ResourceUnavailable.Database`` on REST, the same code in the compatible API's envelope,
an error page in the console; one log line, never a traceback.

The outage is real: the runtime's sessions are pointed at a PostgreSQL address where
nothing listens (connection refused), then back at the SQLite database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from reelflow.wiring.server import ServerServices
from tests.servers import free_port
from tests.unit.api.conftest import Key, TestClient, error_of
from tests.unit.console.conftest import sign_in
from tests.unit.mps.tc3 import signed_headers

UNAVAILABLE = "ResourceUnavailable.Database"


@contextmanager
def unreachable(runtime: ServerServices) -> Iterator[None]:
    """The database is unreachable inside the block (every service shares the sessions)."""
    nowhere = create_engine(f"postgresql+psycopg://reelflow@127.0.0.1:{free_port()}/none")
    runtime.sessions.configure(bind=nowhere)
    try:
        yield
    finally:
        runtime.sessions.configure(bind=runtime.db)
        nowhere.dispose()


def test_rest_answers_503_with_retry_after_and_logs_once(
    client: TestClient, admin: Key, runtime: ServerServices, caplog: pytest.LogCaptureFixture
) -> None:
    ok = client.get("/v1/tasks", headers=admin.headers)
    assert ok.status_code == 200
    caplog.set_level(logging.WARNING)
    with unreachable(runtime):
        answers = [
            client.get("/v1/tasks", headers=admin.headers),
            client.get("/v1/tasks/rf-1", headers=admin.headers),
            client.post("/v1/tasks", headers=admin.headers, json={"input": {"key": "a"}}),
            client.get("/v1/workflows", headers=admin.headers),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert error_of(answer)["code"] == UNAVAILABLE
        assert int(answer.headers["Retry-After"]) > 0
    assert client.get("/v1/tasks", headers=admin.headers).status_code == 200  # back
    lines = [r for r in caplog.records if r.name == "reelflow.web.errors"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert all(r.exc_info is None for r in caplog.records)


def test_the_compatible_api_answers_the_code_in_its_envelope(
    client: TestClient, runtime: ServerServices
) -> None:
    assert runtime.admin_key is not None
    body = json.dumps({"TaskId": "rf-1"}).encode()
    key = runtime.admin_key
    headers = signed_headers("DescribeTaskDetail", body, key.secret_id, key.secret_key)
    with unreachable(runtime):
        answer = client.post("/", content=body, headers=headers)
    # HTTP 200 as every envelope (the SDK reads no error from any other status).
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["Response"]["Error"]["Code"] == UNAVAILABLE
    assert int(answer.headers["Retry-After"]) > 0


def test_the_console_shows_an_error_page(app: FastAPI, admin: Key, runtime: ServerServices) -> None:
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser, admin.secret)
        with unreachable(runtime):
            page = browser.get("/console/tasks")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert UNAVAILABLE in page.text
    assert "Traceback" not in page.text
