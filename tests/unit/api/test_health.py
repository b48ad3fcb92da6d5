"""``/healthz`` (no key) and ``/metrics`` (admin key, a registry per app)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient, error_of

TASK = {
    "input": {"bucket": "media", "key": "in/a.mp4"},
    "media_process_task": {"transcode_task_set": [{"definition": 100010}]},
}


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_fails(
    client: TestClient, runtime: ServerServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(runtime.db, "connect", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert "disk I/O" not in response.text


def test_metrics_need_an_admin_key(client: TestClient, bob: Key) -> None:
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers=bob.headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "AuthFailure.UnauthorizedOperation"


def test_metrics_count_tasks_queue_and_slots(client: TestClient, admin: Key) -> None:
    for _ in range(2):
        assert client.post("/v1/tasks", json=TASK, headers=admin.headers).status_code == 201
    client.app.state.metrics.observe_job(1.5, "media", True)  # type: ignore[attr-defined]
    response = client.get("/metrics", headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'reelflow_tasks{state="queued"} 2.0' in text
    assert 'reelflow_tasks{state="failed"} 0.0' in text
    assert "reelflow_queue_depth 2.0" in text  # one probe job per task
    assert "reelflow_executor_slots 2.0" in text
    assert "reelflow_executor_slots_in_use 0.0" in text
    assert "reelflow_dispatch_paused 0.0" in text  # local executor: never paused
    assert 'reelflow_job_duration_seconds_count{kind="media",outcome="ok"} 1.0' in text


def test_two_apps_have_separate_registries(runtime: ServerServices) -> None:
    first, second = create_app(runtime), create_app(runtime)
    first.state.metrics.observe_job(1.0, "probe", True)
    assert b"reelflow_job_duration_seconds_count" in first.state.metrics.render()
    assert b"reelflow_job_duration_seconds_count" not in second.state.metrics.render()


def test_openapi_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/v1/tasks",
        "/v1/tasks/{task_id}:cancel",
        "/v1/workflows/{workflow_id}:enable",
        "/v1/templates/Transcode/{definition}",
        "/v1/buckets/{bucket}/objects/{key}",
        "/healthz",
        "/metrics",
    ):
        assert path in paths
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200
