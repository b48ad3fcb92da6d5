"""Task graphs on a real server: a watermarked rendition feeding screenshots, an upstream
failure failing its dependents only, and retry of a failed downstream node only.

Failures are real and fixable as in test_retry.py: an object sits where a sub-task needs a
folder, so that sub-task fails; deleting it and retrying lets it succeed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.clips import ClipCache
from tests.integration.server.media import download, submit, upload
from tests.integration.server.process import ServerProcess, wait_finished

pytestmark = pytest.mark.integration

MAGENTA_MARK: dict[str, Any] = {
    "definition": 0,
    "text_content": "REELFLOW",
    "raw_parameter": {
        "type": "text",
        "x_pos": "20px",
        "y_pos": "20px",
        "text_template": {"font_size": "72px", "font_color": "0xFF00FF"},
    },
}
WM_BOX = (20, 20, 420, 110)  # where the text is drawn on the 1280x720 rendition


def magenta(image: Path, box: tuple[int, int, int, int]) -> int:
    """How many strongly magenta pixels ``image`` has inside ``box``."""
    with Image.open(image) as opened:
        raw = opened.convert("RGB").crop(box).tobytes()
    pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
    return sum(1 for r, g, b in pixels if r > 180 and g < 90 and b > 180)


def test_screenshots_of_a_watermarked_rendition_show_the_watermark(
    server: ServerProcess, admin: httpx.Client, clips: ClipCache, tmp_path: Path
) -> None:
    upload(admin, "graph/wm/clip.mp4", clips(duration=2.0, width=1280, height=720))
    task_id = submit(
        admin,
        {
            "input": {"bucket": "media", "key": "graph/wm/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [
                    {"definition": 100030, "id": "wm720", "watermark_set": [MAGENTA_MARK]}
                ],
                "snapshot_by_time_offset_task_set": [
                    {
                        "definition": 10,
                        "ext_time_offset_set": ["25%", "50%", "75%"],
                        "input": "wm720",
                    },
                    {  # the same screenshots of the source, for reference
                        "definition": 10,
                        "ext_time_offset_set": ["25%", "50%", "75%"],
                        "output_object_path": "{inputName}_ref_{number}.{format}",
                    },
                ],
            },
            "notify": {"type": "queue", "name": "graph-wm", "mode": "Change"},
        },
    )
    done = wait_finished(admin, task_id, timeout=120)
    assert done["phase"] == "succeeded", done
    rendition, chained, reference = done["subtasks"]
    assert (rendition["id"], rendition["input"]) == ("wm720", None)
    assert (chained["id"], chained["input"]) == (None, "wm720")
    assert reference["input"] is None
    assert chained["started_at"] >= rendition["finished_at"]
    pics = chained["outputs"]["PicInfoSet"]
    refs = reference["outputs"]["PicInfoSet"]
    assert len(pics) == len(refs) == 3
    for pic, ref in zip(pics, refs, strict=True):
        shot = download(admin, pic["Path"], tmp_path)
        plain = download(admin, ref["Path"], tmp_path)
        with Image.open(shot) as opened:
            assert opened.size == (1280, 720)
        marked, unmarked = magenta(shot, WM_BOX), magenta(plain, WM_BOX)
        assert marked > 2000 and marked > 10 * (unmarked + 1), (marked, unmarked)
    # Each sub-task's event names its node and the node it read from.
    events = admin.get(f"/v1/tasks/{task_id}/events").json()["events"]
    nodes = sorted(
        (e["body"]["SubTaskIndex"], e["body"]["SubTaskId"], e["body"]["SubTaskInput"])
        for e in events
        if e["body"]["EventKind"] == "subtask.finished"
    )
    assert nodes == [(0, "wm720", None), (1, None, "wm720"), (2, None, None)]


def test_an_upstream_failure_fails_its_dependents_and_retry_runs_them(
    server: ServerProcess, admin: httpx.Client, clips: ClipCache
) -> None:
    out = "graph/upfail/out/"
    upload(admin, "graph/upfail/clip.mp4", clips(duration=2.0))
    assert admin.put(f"/v1/buckets/media/objects/{out}blocked", content=b"x").status_code == 200
    task_id = submit(
        admin,
        {
            "input": {"bucket": "media", "key": "graph/upfail/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [
                    {
                        "definition": 100010,
                        "id": "r360",
                        "output_object_path": "blocked/r.{format}",
                    }
                ],
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["1s"], "input": "r360"}
                ],
                "animated_graphic_task_set": [{"definition": 20000, "input": "r360"}],
                "image_sprite_task_set": [{"definition": 10}],
            },
            "output": {"dir": f"/{out}"},
        },
    )
    failed = wait_finished(admin, task_id, timeout=120)
    assert failed["phase"] == "failed", failed
    codes = [(s["kind"], s["status"], s["err_code"]) for s in failed["subtasks"]]
    assert codes == [
        ("Transcode", "FAIL", "InvalidParameterValue.Key"),
        ("AnimatedGraphics", "FAIL", "FailedOperation.UpstreamFailed"),
        ("SnapshotByTimeOffset", "FAIL", "FailedOperation.UpstreamFailed"),
        ("ImageSprites", "SUCCESS", ""),
    ]
    assert "'r360'" in failed["subtasks"][2]["message"]

    assert admin.delete(f"/v1/buckets/media/objects/{out}blocked").status_code == 204
    retried = admin.post(f"/v1/tasks/{task_id}:retry")
    assert retried.status_code == 200, retried.text
    done = wait_finished(admin, task_id, timeout=120)
    assert done["phase"] == "succeeded", done
    sprite_before, sprite_after = failed["subtasks"][3], done["subtasks"][3]
    assert sprite_after["finished_at"] == sprite_before["finished_at"]


def test_retry_of_a_failed_downstream_keeps_the_rendition(
    server: ServerProcess, admin: httpx.Client, clips: ClipCache
) -> None:
    out = "graph/downfail/out/"
    upload(admin, "graph/downfail/clip.mp4", clips(duration=2.0))
    assert admin.put(f"/v1/buckets/media/objects/{out}blocked", content=b"x").status_code == 200
    task_id = submit(
        admin,
        {
            "input": {"bucket": "media", "key": "graph/downfail/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010, "id": "r360"}],
                "snapshot_by_time_offset_task_set": [
                    {
                        "definition": 10,
                        "ext_time_offset_set": ["1s"],
                        "input": "r360",
                        "output_object_path": "blocked/shot_{number}.{format}",
                    }
                ],
            },
            "output": {"dir": f"/{out}"},
        },
    )
    failed = wait_finished(admin, task_id, timeout=120)
    codes = [(s["status"], s["err_code"]) for s in failed["subtasks"]]
    assert codes == [("SUCCESS", ""), ("FAIL", "InvalidParameterValue.Key")], failed
    rendition = failed["subtasks"][0]["outputs"]["Path"]
    before = admin.head(f"/v1/buckets/media/objects{rendition}").headers["etag"]

    assert admin.delete(f"/v1/buckets/media/objects/{out}blocked").status_code == 204
    assert admin.post(f"/v1/tasks/{task_id}:retry").json()["retried"] == [1]
    done = wait_finished(admin, task_id, timeout=120)
    assert done["phase"] == "succeeded", done
    assert done["subtasks"][0]["finished_at"] == failed["subtasks"][0]["finished_at"]
    assert admin.head(f"/v1/buckets/media/objects{rendition}").headers["etag"] == before
    [pic] = done["subtasks"][1]["outputs"]["PicInfoSet"]
    assert pic["Path"] == f"/{out}blocked/shot_0.jpg"
