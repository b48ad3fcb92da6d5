"""SIGKILL the server in the middle of an FFmpeg run: its FFmpeg dies with it; a new server
on the same data dir removes the killed attempt's scratch, takes the job back once its
lease expires and finishes the task exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.clips import ClipCache
from tests.integration.server.media import (
    LONG_CLIP,
    SLOW_360P,
    download,
    submit,
    upload,
    video_shape,
)
from tests.integration.server.process import (
    Servers,
    ffmpeg_processes,
    query,
    wait_finished,
    wait_for,
    wait_running,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Short leases on both servers: the crashed server's lease (written with its own setting)
# is what the new one waits out.
SHORT_LEASE = {"lease_seconds": "3"}


def test_sigkill_mid_task_then_restart_finishes_once(
    servers: Servers, clips: ClipCache, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = servers.start(data_dir, **SHORT_LEASE)
    with first.client() as client:
        upload(client, "crash/long.mp4", clips(**LONG_CLIP))
        body = {
            "input": {"bucket": "media", "key": "crash/long.mp4"},
            "media_process_task": {"transcode_task_set": [SLOW_360P]},
        }
        task_id = submit(client, body)
        wait_running(client, task_id)

    marker = str(data_dir.resolve())
    assert first.proc is not None
    killed_pid = first.proc.pid
    assert ffmpeg_processes(marker)  # the encode is on, with its files under scratch
    assert first.kill() == -9
    # FFmpeg runs in a session of its own, so only its parent-death signal stops it.
    wait_for(lambda: not ffmpeg_processes(marker), 2.0, "FFmpeg to die with its server")
    scratch = data_dir / "scratch"
    [killed_folder] = [p for p in scratch.iterdir() if f"-{killed_pid}-" in p.name]
    assert any(p.is_file() for p in killed_folder.rglob("*"))  # the attempt's files
    # Read after the kill: the dead server can no longer change it, so this proves the
    # kill landed mid-job.
    [job] = query(data_dir, "SELECT state, attempt FROM jobs WHERE kind = 'media'")
    assert (job["state"], job["attempt"]) == ("running", 1)

    second = servers.start(data_dir, **SHORT_LEASE)
    assert not killed_folder.exists()  # swept at start, before any job ran
    with second.client() as client:
        doc = wait_finished(client, task_id, timeout=90)
        time.sleep(1.0)  # a second finish, if there were one, would have landed by now
        again = client.get(f"/v1/tasks/{task_id}").json()
        outputs = doc["subtasks"][0]["outputs"]
        local = download(client, outputs["Path"], tmp_path)

    assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), doc
    assert [(s["status"], s["attempts"], s["err_code"]) for s in doc["subtasks"]] == [
        ("SUCCESS", 2, "")
    ]
    assert (again["finished_at"], again["updated_at"]) == (doc["finished_at"], doc["updated_at"])
    height, duration = video_shape(local)  # decodes every frame: a torn file would show
    assert height == 360
    assert duration == pytest.approx(20.0, abs=0.15)
    assert local.stat().st_size == outputs["Size"]
    # Nothing left in scratch: the second server's attempt removed its own folder's files.
    assert [p for p in scratch.rglob("*") if p.is_file()] == []

    jobs = {row["kind"]: row for row in query(data_dir, "SELECT * FROM jobs")}
    assert sorted(jobs) == ["media", "probe"]
    assert (jobs["probe"]["state"], jobs["probe"]["attempt"]) == ("succeeded", 1)
    media = jobs["media"]
    assert (media["state"], media["attempt"], media["lease_owner"]) == ("succeeded", 2, None)
    assert not query(data_dir, "SELECT id FROM jobs WHERE state IN ('queued', 'running')")
    [task] = query(data_dir, "SELECT state, finished_at FROM tasks WHERE id = ?", task_id)
    assert task["state"] == "succeeded"
    assert task["finished_at"] is not None
