"""A new server works on the first upload: ``reelflow serve`` on a new data dir creates the
enabled workflow ``default`` (media/in/ -> media/out/), an ordinary workflow that stays
deleted once deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from reelflow.presets.default_workflow import default_media_process_task
from tests.clips import ClipCache
from tests.integration.server.media import head, upload
from tests.integration.server.process import Servers, wait_finished

pytestmark = pytest.mark.integration


def workflows(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/v1/workflows", params={"limit": 100})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["workflows"]
    return found


def test_an_upload_to_a_new_server_starts_the_default_workflow(
    servers: Servers, clips: ClipCache, tmp_path: Path
) -> None:
    server = servers.start(tmp_path / "data", default_workflow="true")
    with server.client() as client:
        [workflow] = workflows(client)
        assert (workflow["name"], workflow["enabled"]) == ("default", True)
        assert workflow["trigger"] == {"bucket": "media", "dir": "in/", "formats": []}
        assert (workflow["output_bucket"], workflow["output_dir"]) == ("media", "out/")
        assert workflow["media_process_task"] == default_media_process_task(None).to_json()

        answer = upload(client, "in/clip.mp4", clips(duration=2.0, width=320, height=180))
        # The upload's answer says what it started, and the server's log says it too.
        [started] = answer["tasks"]
        assert started == {
            "task_id": started["task_id"],
            "workflow_id": workflow["id"],
            "created": True,
        }
        assert f"upload media/in/clip.mp4 ({answer['size']} bytes): tasks {started['task_id']}" in (
            server.log_tail(200)
        )
        task = client.get(f"/v1/tasks/{started['task_id']}").json()
        assert task["workflow_id"] == workflow["id"]
        assert task["input"]["key"] == "in/clip.mp4"
        nothing = upload(client, "elsewhere/notes.mp4", clips(duration=1.0))
        assert nothing["tasks"] == []
        assert "upload media/elsewhere/notes.mp4" in server.log_tail(200)
        assert "no task started, no enabled workflow matches it" in server.log_tail(200)

        def started_tasks() -> list[dict[str, Any]]:
            tasks: list[dict[str, Any]] = client.get("/v1/tasks").json()["tasks"]
            return tasks

        doc = wait_finished(client, started["task_id"], timeout=120)
        assert doc["phase"] == "succeeded", doc
        statuses = [sub["status"] for sub in doc["subtasks"]]
        assert statuses == ["SUCCESS"] * len(statuses) and len(statuses) == 7, statuses
        listing = client.get("/v1/buckets/media/objects", params={"prefix": "out/"}).json()
        keys = [o["key"] for o in listing["objects"]]
        assert {"out/clip_transcode_100010.mp4", "out/clip_transcode_100030.mp4"} <= set(keys)
        assert any(k.endswith(".vtt") for k in keys) and any(k.endswith(".gif") for k in keys)
        for key in keys:
            assert int(head(client, "/" + key)["content-length"]) > 0, key
        # Outputs under out/ start nothing (out/ is not in/): still one task.
        assert len(started_tasks()) == 1

        # An ordinary workflow: editable, then disabled and deleted.
        edited = {**workflow, "name": "default", "output_dir": "done/"}
        for field in ("id", "enabled", "created_at", "updated_at", "last_notify_error"):
            edited.pop(field, None)
        response = client.put(f"/v1/workflows/{workflow['id']}", json=edited)
        assert response.status_code == 200, response.text
        assert response.json()["output_dir"] == "done/"
        assert client.post(f"/v1/workflows/{workflow['id']}:disable").status_code == 200
        assert client.delete(f"/v1/workflows/{workflow['id']}").status_code == 204

    server.stop()
    # The upload lines are not lost among the folder watcher's ("4 changes detected"),
    # though it saw the uploads and every output.
    assert "watchfiles" not in server.log_path.read_text()
    restarted = servers.start(tmp_path / "data", default_workflow="true")
    with restarted.client() as client:
        assert workflows(client) == []  # deleted stays deleted
    # A restart checks the migrations; Alembic's line per plug-in is not in the log.
    assert "alembic.runtime.migration" in restarted.log_tail(200)
    assert "setup plugin" not in restarted.log_tail(200)


def test_default_workflow_false_starts_with_none(servers: Servers, tmp_path: Path) -> None:
    server = servers.start(tmp_path / "data", default_workflow="false", metrics_token="scrape-1")
    with server.client() as client:
        assert workflows(client) == []
    # A scraper with REELFLOW_METRICS_TOKEN, as Prometheus' `authorization` sends it.
    with server.client(key="scrape-1") as scraper:
        scraped = scraper.get("/metrics")
        assert scraped.status_code == 200
        assert 'reelflow_tasks{state="queued"} 0.0' in scraped.text
        assert scraper.get("/v1/tasks").status_code == 401  # a scrape token, not an API key
    with server.client(key="") as anonymous:
        assert anonymous.get("/metrics").status_code == 401
