"""Quality scores through the native API (issue 18): a task asking for ``quality`` gets a
score on each video rendition, and the compatible API's answers stay as the SDK expects."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.mps.v20190612 import models

from reelflow.compat.render import event_body
from reelflow.config import Settings
from reelflow.notify.body import render
from reelflow.specs.events import EventType
from reelflow.specs.requests import TaskSource
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.unit.api.conftest import TestClient
from tests.unit.mps.tc3 import signed_headers

pytestmark = pytest.mark.integration

SPEC = {
    "transcode_task_set": [{"definition": 100010}, {"definition": 100020}],
    "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}],
}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    settings = Settings(data_dir=tmp_path / "data", video_preset="ultrafast", workers=1)
    with build_server(settings) as rt:
        yield rt


def sdk_check(action: str, answer: dict[str, Any]) -> None:
    """The SDK's model takes the answer without a warning (warnings are errors here)."""
    assert "Error" not in answer, answer
    getattr(models, f"{action}Response")()._deserialize(answer)


def test_native_task_with_quality(runtime: ServerServices, clips: ClipCache) -> None:
    assert runtime.admin_key is not None
    key = runtime.admin_key
    headers = {"Authorization": f"Bearer {key.secret_key}"}
    source = clips(duration=2.0, width=640, height=360, fps=25)
    with TestClient(create_app(runtime)) as client:
        put = client.put(
            "/v1/buckets/media/objects/in/q.mp4", content=source.read_bytes(), headers=headers
        )
        assert put.status_code == 200
        body = {
            "input": {"bucket": "media", "key": "in/q.mp4"},
            "media_process_task": SPEC,
            "quality": True,
        }
        task_id = client.post("/v1/tasks", json=body, headers=headers).json()["task_id"]
        assert runtime.scheduler.run_until(
            lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=180
        )
        doc = client.get(f"/v1/tasks/{task_id}", headers=headers).json()
        assert doc["phase"] == "succeeded", doc
        low, high, snapshot = doc["subtasks"]
        for sub in (low, high):
            quality = sub["quality"]
            assert set(quality) == {"Model", "Subsample", "Vmaf", "Psnr", "Ssim", "Series"}
            assert quality["Model"] == "vmaf_v0.6.1"
            assert set(quality["Vmaf"]) == {"Mean", "HarmonicMean", "Min", "P1"}
            assert 0 < quality["Vmaf"]["Min"] <= quality["Vmaf"]["Mean"] <= 100
            assert quality["Series"]
        assert high["quality"]["Vmaf"]["Mean"] > low["quality"]["Vmaf"]["Mean"]
        assert snapshot["quality"] is None
        # The compatible shapes (in the native document, DescribeTaskDetail, the event body)
        # never carry it.
        assert "Quality" not in json.dumps(doc["workflow_task"])
        raw = json.dumps({"TaskId": task_id}).encode()
        answer = client.post(
            "/",
            content=raw,
            headers=signed_headers("DescribeTaskDetail", raw, key.secret_id, key.secret_key),
        ).json()["Response"]
        sdk_check("DescribeTaskDetail", answer)
        assert "Quality" not in json.dumps(answer)
        view = runtime.engine.task_view(task_id)
        event = render(event_body(view, "ev-1", 2, EventType.TASK_FINISHED), "k", time.time())
        assert "Quality" not in json.dumps(event)


def test_a_workflow_asks_for_quality(runtime: ServerServices) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    workflow = {
        "name": "scored",
        "trigger": {"bucket": "media", "dir": "scored/"},
        "media_process_task": SPEC,
        "quality": True,
    }
    with TestClient(create_app(runtime)) as client:
        made = client.post("/v1/workflows", json=workflow, headers=headers)
        assert made.status_code in (200, 201), made.text
        assert made.json()["quality"] is True
        record = runtime.workflows.get(runtime.admin_account.id, made.json()["id"])
        request = runtime.workflows.request_for(
            record, TaskSource(type="bucket", bucket="media", key="scored/a.mp4")
        )
        assert request.quality is True
