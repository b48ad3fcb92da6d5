"""Chunked encoding on a cluster: Celery on Redis with two workers, the parts under
temporary keys of the output bucket (S3 on moto). A worker SIGKILLed during a chunk: the
task finishes, that chunk ran twice, no other chunk did; the temporary keys are gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster.conftest import MakeCluster
from tests.integration.server.media import download, submit, upload
from tests.integration.server.process import ffmpeg_processes, wait_finished, wait_for
from tests.integration.server.test_chunked import FPS, SLOW_BITRATE, read, scene_clip
from tests.s3server import MotoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigkill_a_worker_mid_chunk_reruns_that_chunk_only(
    make_cluster: MakeCluster,
    redis_broker: str,
    moto: MotoServer,
    ffmpeg_bin: Path,
    tmp_path: Path,
) -> None:
    clip = scene_clip(tmp_path / "long.mp4", ffmpeg_bin, duration=16.0, size="640x360")
    cluster = make_cluster(redis_broker, lease_seconds="3", chunk_seconds="2", ffmpeg_threads="1")
    server = cluster.serve()
    workers = [cluster.worker(), cluster.worker()]

    def chunks(task_id: str) -> list[Any]:
        rows = cluster.rows(
            "SELECT id, state, attempt, progress, lease_owner, payload FROM jobs "
            "WHERE task_id = :t AND kind = 'chunk' ORDER BY id",
            t=task_id,
        )
        return [row for row in rows if row.payload["chunked"]["role"] == "video"]

    with server.client() as client:
        upload(client, "in/long.mp4", clip)
        body = {
            "input": {"bucket": "media", "key": "in/long.mp4"},
            # Slow chunks (x264 placebo): the chunk seen running is still running when the
            # kill lands (a 2 s chunk at the default preset could end in between).
            "media_process_task": {"transcode_task_set": [SLOW_BITRATE]},
        }
        task_id = submit(client, body)

        def running_chunk() -> Any:
            for row in chunks(task_id):
                owner = row.lease_owner or ""
                if row.state == "running" and row.progress > 0 and owner.startswith("worker:"):
                    return row
            return None

        job = wait_for(running_chunk, 120, "a chunk to encode on a worker")
        [victim] = [w for w in workers if f":{w.pid}:" in job.lease_owner]
        assert victim.kill() == -9
        marker = str(victim.data_dir.resolve())
        wait_for(lambda: not ffmpeg_processes(marker) or None, 5.0, "FFmpeg to die")
        [row] = [r for r in chunks(task_id) if r.id == job.id]
        assert (row.state, row.attempt) == ("running", 1)  # killed mid-chunk, for sure

        doc = wait_finished(client, task_id, timeout=240)
        assert doc["phase"] == "succeeded", (doc, cluster.logs())
        [out] = [download(client, s["outputs"]["Path"], tmp_path) for s in doc["subtasks"]]
    rows = chunks(task_id)
    assert len(rows) == 8
    assert [r.id for r in rows if r.attempt > 1] == [job.id]  # that chunk only, once more
    assert all(r.state == "succeeded" for r in rows)
    pts, video_end, audio_end = read(out)
    assert len(pts) == 16 * FPS
    assert abs(audio_end - video_end) <= 1 / FPS
    # The parts were temporary keys of the output bucket: the join deleted them.
    bucket = cluster.s3_buckets["media"]
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix=".reelflow-chunks/")
    assert listed.get("KeyCount", 0) == 0


def test_a_cancelled_groups_keys_are_removed_from_the_bucket(
    make_cluster: MakeCluster,
    redis_broker: str,
    moto: MotoServer,
    ffmpeg_bin: Path,
    tmp_path: Path,
) -> None:
    clip = scene_clip(tmp_path / "long.mp4", ffmpeg_bin, duration=16.0, size="640x360")
    cluster = make_cluster(redis_broker, lease_seconds="3", chunk_seconds="2", ffmpeg_threads="1")
    server = cluster.serve()
    cluster.worker()
    cluster.worker()
    bucket = cluster.s3_buckets["media"]

    def parts() -> list[str]:
        listed = moto.client().list_objects_v2(Bucket=bucket, Prefix=".reelflow-chunks/")
        return [item["Key"] for item in listed.get("Contents", [])]

    with server.client() as client:
        upload(client, "in/long.mp4", clip)
        body = {
            "input": {"bucket": "media", "key": "in/long.mp4"},
            "media_process_task": {"transcode_task_set": [SLOW_BITRATE]},
        }
        task_id = submit(client, body)
        stored = wait_for(lambda: parts() or None, 120, "a part in the bucket")
        response = client.post(f"/v1/tasks/{task_id}:cancel")
        assert response.status_code in (200, 202, 204), response.text
        doc = wait_finished(client, task_id, timeout=30)
    assert doc["phase"] == "cancelled", doc
    # The generation's keys (".reelflow-chunks/<task>/g0/s<split>/...") go, then the row.
    assert all(key.startswith(f".reelflow-chunks/{task_id}/g0/s") for key in stored), stored

    def removed() -> bool | None:
        left = cluster.rows("SELECT id FROM chunk_leftovers WHERE task_id = :t", t=task_id)
        return (not parts() and not left) or None

    wait_for(removed, 60, "the cancelled group's keys to be removed")
