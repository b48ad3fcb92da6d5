"""Upload a clip, submit a task, poll it to the end, and fetch its outputs over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.clips import ClipCache
from tests.integration.server.media import RAW_180P, download, head, submit, upload, video_shape
from tests.integration.server.process import wait_finished

pytestmark = pytest.mark.integration


def test_submit_poll_and_fetch_outputs(
    admin: httpx.Client, clips: ClipCache, tmp_path: Path
) -> None:
    upload(admin, "submit/clip.mp4", clips(duration=2.0, width=640, height=360))
    body = {
        "input": {"bucket": "media", "key": "submit/clip.mp4"},
        "media_process_task": {
            "transcode_task_set": [{"definition": 100010}, RAW_180P],
            "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}],
            "image_sprite_task_set": [{"definition": 10}],
        },
        "output": {"dir": "/submit/out/"},
    }
    task_id = submit(admin, body)

    doc = wait_finished(admin, task_id)

    assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), doc
    assert doc["finished_at"] is not None
    assert doc["metadata"]["Height"] == 360
    subs = {sub["kind"] + str(i): sub for i, sub in enumerate(doc["subtasks"])}
    assert [s["status"] for s in doc["subtasks"]] == ["SUCCESS"] * 4, subs
    assert all(s["progress"] == 100 and s["err_code"] == "" for s in doc["subtasks"]), subs
    ld, small, snapshot, sprite = (s["outputs"] for s in doc["subtasks"])
    paths = [
        ld["Path"],
        small["Path"],
        *(pic["Path"] for pic in snapshot["PicInfoSet"]),
        *sprite["ImagePathSet"],
        sprite["WebVttPath"],
    ]
    assert all(path.startswith("/submit/out/") for path in paths), paths
    assert len(paths) == 5
    for path in paths:
        assert int(head(admin, path)["content-length"]) > 0, path
    assert int(head(admin, ld["Path"])["content-length"]) == ld["Size"]
    assert head(admin, ld["Path"])["etag"] == f'"{ld["Md5"]}"'
    for output, height in ((ld, 360), (small, 180)):
        assert output["Height"] == height
        measured_height, duration = video_shape(download(admin, output["Path"], tmp_path))
        assert measured_height == height
        assert duration == pytest.approx(2.0, abs=0.15)
    vtt = admin.get(f"/v1/buckets/media/objects{sprite['WebVttPath']}")
    assert vtt.text.startswith("WEBVTT")
    listing = admin.get("/v1/buckets/media/objects", params={"prefix": "submit/out/"}).json()
    assert sorted("/" + o["key"] for o in listing["objects"]) == sorted(paths)
