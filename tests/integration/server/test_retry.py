"""``POST /v1/tasks/{id}:retry`` runs only the failed sub-tasks again; the outputs of the
sub-tasks that succeeded are kept as they were, not written again.

The failure is real and fixable: an object ``out/blocked`` sits where the snapshot needs a
folder ``out/blocked/`` (a local bucket cannot hold both), so the runner fails that
sub-task only. Deleting the object and retrying lets it succeed.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.clips import ClipCache
from tests.integration.server.media import submit, upload
from tests.integration.server.process import ServerProcess, query, wait_finished
from tests.integration.server.responses import api_error

pytestmark = pytest.mark.integration

OUT = "retry/out/"


def listing(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every object under ``OUT`` by key: size, etag and modification time (sub-second)."""
    page = client.get("/v1/buckets/media/objects", params={"prefix": OUT}).json()
    return {o["key"]: o for o in page["objects"]}


def test_retry_runs_only_the_failed_subtask(
    server: ServerProcess, admin: httpx.Client, clips: ClipCache
) -> None:
    upload(admin, "retry/clip.mp4", clips(duration=2.0))
    blocker = admin.put(f"/v1/buckets/media/objects/{OUT}blocked", content=b"in the way")
    assert blocker.status_code == 200
    task_id = submit(
        admin,
        {
            "input": {"bucket": "media", "key": "retry/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010}],
                "snapshot_by_time_offset_task_set": [
                    {
                        "definition": 10,
                        "ext_time_offset_set": ["1s"],
                        "output_object_path": "blocked/shot_{number}.{format}",
                    }
                ],
                "image_sprite_task_set": [{"definition": 10}],
            },
            "output": {"dir": f"/{OUT}"},
        },
    )

    failed = wait_finished(admin, task_id)

    assert (failed["state"], failed["phase"]) == ("FINISH", "failed"), failed
    by_kind = {sub["kind"]: sub for sub in failed["subtasks"]}
    shot = by_kind["SnapshotByTimeOffset"]
    assert (shot["status"], shot["err_code"]) == ("FAIL", "InvalidParameterValue.Key"), shot
    assert "retry/out/blocked/shot_0.jpg" in shot["message"]
    assert "cannot hold both an object and a folder" in shot["message"]
    assert shot["outputs"] is None
    kept = {s["index"]: s for s in failed["subtasks"] if s["status"] == "SUCCESS"}
    assert sorted(s["kind"] for s in kept.values()) == ["ImageSprites", "Transcode"]
    before = listing(admin)
    assert sorted(before) == [
        f"{OUT}blocked",
        f"{OUT}clip_imageSprite_10.vtt",
        f"{OUT}clip_imageSprite_10_0.jpg",
        f"{OUT}clip_transcode_100010.mp4",
    ]

    assert admin.delete(f"/v1/buckets/media/objects/{OUT}blocked").status_code == 204
    retried = admin.post(f"/v1/tasks/{task_id}:retry")

    assert retried.status_code == 200, retried.text
    assert retried.json() == {"task_id": task_id, "retried": [shot["index"]]}
    done = wait_finished(admin, task_id)
    assert (done["state"], done["phase"]) == ("FINISH", "succeeded"), done
    assert [s["status"] for s in done["subtasks"]] == ["SUCCESS"] * 3
    for sub in done["subtasks"]:
        if sub["index"] in kept:  # untouched: same outputs, same finish, one attempt
            old = kept[sub["index"]]
            assert (sub["outputs"], sub["finished_at"]) == (old["outputs"], old["finished_at"])
            assert sub["attempts"] == 1
        else:
            assert (sub["err_code"], sub["message"]) == ("", "")
            assert sub["outputs"]["PicInfoSet"][0]["Path"] == f"/{OUT}blocked/shot_0.jpg"
    after = listing(admin)
    for key, info in before.items():
        if key != f"{OUT}blocked":  # the kept outputs were not written again
            assert after[key] == info, key
    assert sorted(set(after) - set(before)) == [f"{OUT}blocked/shot_0.jpg"]
    assert after[f"{OUT}blocked/shot_0.jpg"]["size"] > 0
    transcode = next(s for s in done["subtasks"] if s["kind"] == "Transcode")["outputs"]
    assert after[transcode["Path"][1:]]["etag"] == transcode["Md5"]

    # One new job, serving the retried sub-task only.
    jobs = query(
        server.data_dir,
        "SELECT kind, state, subtasks FROM jobs WHERE task_id = ? ORDER BY id",
        task_id,
    )
    served = [(j["kind"], j["state"], json.loads(j["subtasks"])) for j in jobs]
    assert served == [
        ("probe", "succeeded", [0, 1, 2]),
        ("media", "succeeded", [0, 1, 2]),
        ("media", "succeeded", [shot["index"]]),
    ]
    # A task that succeeded has nothing to retry.
    error = api_error(admin.post(f"/v1/tasks/{task_id}:retry"), 409, "FailedOperation.State")
    assert "only a failed task can be retried" in error["message"]
