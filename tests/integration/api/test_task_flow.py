"""Upload a real clip, submit a task, let the scheduler run it, read the document and
download an output: the whole native API path with real FFmpeg."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelflow.config import Settings
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

SPEC = {
    "transcode_task_set": [{"definition": 100010}],
    "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}],
}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    settings = Settings(data_dir=tmp_path / "data", video_preset="ultrafast", workers=2)
    with build_server(settings) as rt:
        yield rt


def test_upload_submit_run_read_download(runtime: ServerServices, clips: ClipCache) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    source = clips(duration=2.0)
    with TestClient(create_app(runtime)) as client:
        upload = client.put(
            "/v1/buckets/media/objects/in/clip.mp4", content=source.read_bytes(), headers=headers
        )
        assert upload.status_code == 200
        body = {
            "input": {"bucket": "media", "key": "in/clip.mp4"},
            "media_process_task": SPEC,
            "output": {"dir": "/out/"},
        }
        task_id = client.post("/v1/tasks", json=body, headers=headers).json()["task_id"]
        finished = runtime.scheduler.run_until(
            lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=120
        )
        assert finished
        doc = client.get(f"/v1/tasks/{task_id}", headers=headers).json()
        assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), doc
        assert doc["metadata"]["Duration"] == pytest.approx(2.0, abs=0.2)
        assert [s["status"] for s in doc["subtasks"]] == ["SUCCESS", "SUCCESS"]
        transcode = doc["subtasks"][0]["outputs"]
        assert transcode["Path"].startswith("/out/")
        assert doc["workflow_task"]["MediaProcessResultSet"][0]["TranscodeTask"]["Output"]
        output = client.get(
            f"/v1/buckets/media/objects{transcode['Path']}",
            headers={**headers, "Range": "bytes=4-11"},
        )
        assert output.status_code == 206
        assert output.content[:4] == b"ftyp"
        listing = client.get("/v1/buckets/media/objects?prefix=out/", headers=headers).json()
        assert len(listing["objects"]) >= 2
