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

from reelflow.catalog.accounts import NewKey
from reelflow.compat.render import event_body
from reelflow.config import Settings
from reelflow.engine.views import TaskView
from reelflow.notify.body import render
from reelflow.specs.events import EventType
from reelflow.specs.requests import TaskSource
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.integration.server.test_adaptive import ladder
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


def without_native(shown: dict[str, Any]) -> dict[str, Any]:
    """A native ``quality`` without what only the native document shows (for a plot)."""
    if "Rungs" in shown:
        return {"Rungs": [without_native(rung) for rung in shown["Rungs"]]}
    return {k: v for k, v in shown.items() if k not in ("Series", "Interval", "Worst")}


def subtask_events(client: TestClient, key: NewKey, view: TaskView, doc: dict[str, Any]) -> None:
    """A sub-task's event carries its scores beside its node fields, at the top level, and
    ParseNotification still answers as the SDK expects."""
    for sub in view.subtasks:
        body = event_body(view, "ev-2", 3, EventType.SUBTASK_FINISHED, sub.index)
        assert body["SubTaskIndex"] == sub.index
        shown = doc["subtasks"][sub.index]["quality"]
        if shown is None:
            assert body["Quality"] is None
        else:
            assert body["Quality"] == without_native(shown)
        assert "Quality" not in json.dumps(body["WorkflowTaskEvent"])
        raw = json.dumps({"Content": json.dumps(render(body, "k", time.time()))}).encode()
        answer = client.post(
            "/",
            content=raw,
            headers=signed_headers("ParseNotification", raw, key.secret_id, key.secret_key),
        ).json()["Response"]
        sdk_check("ParseNotification", answer)
        assert answer["Quality"] == body["Quality"]  # passed through, as SubTaskIndex
        assert "Quality" not in json.dumps(answer["WorkflowTaskEvent"])


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
            assert set(quality) == {
                *("Model", "Subsample", "Frames", "Vmaf", "Psnr", "Ssim"),
                *("Series", "Interval", "Worst"),
            }
            assert quality["Interval"] > 0
            # The worst moment: its time and score, and two pictures next to the rendition.
            worst = quality["Worst"]
            assert worst["Vmaf"] == quality["Vmaf"]["Min"]
            assert 0 <= worst["Time"] < 2.0
            rendition = sub["outputs"]["Path"].rsplit(".", 1)[0]
            assert worst["Frame"] == rendition + ".worst.jpg"
            assert worst["SourceFrame"] == rendition + ".worst-source.jpg"
            for path in (worst["Frame"], worst["SourceFrame"]):
                got = client.get(f"/v1/buckets/media/objects{path}", headers=headers)
                assert got.status_code == 200
                assert got.content[:3] == b"\xff\xd8\xff"  # a JPEG
            assert quality["Model"] == "vmaf_v0.6.1"
            assert set(quality["Vmaf"]) == {"Mean", "HarmonicMean", "Min", "P1", "StdErr"}
            assert quality["Frames"] == len(quality["Series"])  # short: every point kept
            assert 0 <= quality["Vmaf"]["StdErr"] < 5
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
        subtask_events(client, key, view, doc)


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


def test_a_template_asks_for_quality(runtime: ServerServices, clips: ClipCache) -> None:
    """A transcode template with ``quality`` scores its renditions in a task that does not
    ask; the compatible API's view of the template stays as the SDK expects."""
    assert runtime.admin_key is not None
    key = runtime.admin_key
    headers = {"Authorization": f"Bearer {key.secret_key}"}
    template = {
        "name": "scored-180",
        "container": "mp4",
        "quality": True,
        "video_template": {"codec": "h264", "height": 180, "bitrate": 300},
        "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
    }
    source = clips(duration=1.0, width=320, height=240, fps=25)
    with TestClient(create_app(runtime)) as client:
        made = client.post("/v1/templates/Transcode", json=template, headers=headers)
        assert made.status_code == 201, made.text
        assert made.json()["template"]["quality"] is True
        definition = made.json()["definition"]
        client.put("/v1/buckets/media/objects/in/t.mp4", content=source.read_bytes(),
                   headers=headers)  # fmt: skip
        body = {
            "input": {"bucket": "media", "key": "in/t.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": definition}, {"definition": 100010}]
            },
        }
        task_id = client.post("/v1/tasks", json=body, headers=headers).json()["task_id"]
        assert runtime.scheduler.run_until(
            lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=180
        )
        doc = client.get(f"/v1/tasks/{task_id}", headers=headers).json()
        assert doc["phase"] == "succeeded", doc
        scored, plain = doc["subtasks"]
        assert scored["quality"]["Vmaf"]["Mean"] > 50
        assert plain["quality"] is None  # the task itself did not ask
        raw = json.dumps({"Definitions": [definition]}).encode()
        answer = client.post(
            "/",
            content=raw,
            headers=signed_headers(
                "DescribeTranscodeTemplates", raw, key.secret_id, key.secret_key
            ),
        ).json()["Response"]
        sdk_check("DescribeTranscodeTemplates", answer)
        assert "Quality" not in json.dumps(answer)


@pytest.mark.parametrize("fmt", ["HLS", "MPEG-DASH"])
def test_a_ladder_s_rungs_are_scored(runtime: ServerServices, clips: ClipCache, fmt: str) -> None:
    """A task asking for quality scores each video rung of its ladder (through the rung's
    media playlist, in the same scoring process as the renditions), shown per rung."""
    assert runtime.admin_key is not None
    key = runtime.admin_key
    headers = {"Authorization": f"Bearer {key.secret_key}"}
    source = clips(duration=4.0, width=320, height=180, fps=25)
    with TestClient(create_app(runtime)) as client:
        made = client.post(
            "/v1/templates/AdaptiveDynamicStreaming", json=ladder(fmt, (144, 180)), headers=headers
        )
        assert made.status_code == 201, made.text
        client.put("/v1/buckets/media/objects/abr/q.mp4", content=source.read_bytes(),
                   headers=headers)  # fmt: skip
        body = {
            "input": {"bucket": "media", "key": "abr/q.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010}],
                "adaptive_dynamic_streaming_task_set": [{"definition": made.json()["definition"]}],
            },
            "quality": True,
        }
        task_id = client.post("/v1/tasks", json=body, headers=headers).json()["task_id"]
        assert runtime.scheduler.run_until(
            lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=180
        )
        doc = client.get(f"/v1/tasks/{task_id}", headers=headers).json()
        assert doc["phase"] == "succeeded", doc
        rendition, package = doc["subtasks"]
        assert rendition["quality"]["Vmaf"]["Mean"] > 50
        rungs = package["quality"]["Rungs"]
        assert [(r["Height"], r["Width"]) for r in rungs] == [(144, 256), (180, 320)]
        low, high = rungs
        assert high["Vmaf"]["Mean"] > low["Vmaf"]["Mean"] > 20
        for rung in rungs:
            assert rung["Series"] and rung["Worst"]["Frame"].endswith(".worst.jpg")
            got = client.get(f"/v1/buckets/media/objects{rung['Worst']['Frame']}", headers=headers)
            assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"
        view = runtime.engine.task_view(task_id)
        subtask_events(client, key, view, doc)
