"""A chunked HLS ladder on a cluster: Celery on Redis with two workers, each chunk's
folder and the audio kept as tar parts under temporary keys of the output bucket (S3 on
moto). The stored package equals the one-shot ladder's (a server of the same cluster with
``chunk_seconds`` 0): check-stream passes, the same files, segment counts, ``EXTINF``
durations and decoded frames; no temporary key is left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import m3u8
import pytest

from reelflow.media.streamcheck import check_stream
from tests.clips import ClipCache
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.media.test_ladder_chunks import decode_playlist
from tests.integration.server.media import download, submit, upload
from tests.integration.server.process import ServerProcess, wait_finished
from tests.integration.server.test_adaptive import create, folder_of, ladder
from tests.s3server import MotoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DURATION = 12.0  # 6 segments of 2 s; chunks of 4 s (2 segments): 3 chunks
FPS = 25


def run_ladder(server: ServerProcess, definition: int, into: Path) -> tuple[str, dict[str, Any]]:
    """Package the uploaded clip with the ladder ``definition``; download every file."""
    with server.client() as client:
        body = {
            "input": {"bucket": "media", "key": "abr/long.mp4"},
            "media_process_task": {
                "adaptive_dynamic_streaming_task_set": [{"definition": definition}]
            },
        }
        task_id = submit(client, body)
        doc = wait_finished(client, task_id, timeout=300)
        assert doc["phase"] == "succeeded", doc
        [sub] = doc["subtasks"]
        out: dict[str, Any] = sub["outputs"]
        folder = folder_of(out["Path"]).lstrip("/")
        listed = client.get("/v1/buckets/media/objects", params={"prefix": folder})
        keys = [o["key"] for o in listed.json()["objects"] if o["key"] != "abr/long.mp4"]
        into.mkdir()
        for key in keys:
            download(client, "/" + key, into)
        assert len(keys) == out["FileCount"]
        return task_id, out


def test_a_chunked_ladder_on_celery_stores_the_one_shot_package(
    make_cluster: MakeCluster,
    redis_broker: str,
    moto: MotoServer,
    clips: ClipCache,
    ffmpeg_bin: Path,
    tmp_path: Path,
) -> None:
    clip = clips(duration=DURATION, width=320, height=180)
    cluster = make_cluster(redis_broker, chunk_seconds="4", ffmpeg_threads="1")
    server = cluster.serve()
    cluster.worker()
    cluster.worker()
    with server.client() as client:
        definition = create(client, ladder("HLS"))
        upload(client, "abr/long.mp4", clip)
    task_id, out = run_ladder(server, definition, tmp_path / "a")

    # The engine's graph: split, audio, three chunks on segment borders, join; each once.
    rows = cluster.rows(
        "SELECT state, attempt, payload FROM jobs WHERE task_id = :t AND kind IN ('chunk', 'join') "
        "ORDER BY id",
        t=task_id,
    )
    roles = sorted(row.payload["chunked"]["role"] for row in rows)
    assert roles == sorted(["split", "audio", "video", "video", "video", "join"])
    assert [(row.state, row.attempt) for row in rows] == [("succeeded", 1)] * 6
    # The parts went to the output bucket (the workers share no scratch folder).
    for row in rows:
        assert row.payload["chunked"]["bucket"] == "media"
        assert row.payload["chunked"]["prefix"].startswith(f".reelflow-chunks/{task_id}/")
    starts = sorted(
        row.payload["chunked"]["chunk"]["start"]
        for row in rows
        if row.payload["chunked"]["role"] == "video"
    )
    assert starts == [0.0, 4.0, 8.0]
    # The parts were temporary keys of the output bucket: the join deleted them.
    bucket = cluster.s3_buckets["media"]
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix=".reelflow-chunks/")
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")

    master = tmp_path / "a" / out["Path"].rsplit("/", 1)[-1]
    checked = check_stream(str(master))
    assert checked.passed, [f"{r.rule} {r.where}: {r.message}" for r in checked.failures]
    assert out["StreamCheck"]["Passed"] is True

    # The one-shot ladder, by the same cluster restarted not to chunk (the setting is read
    # by whichever process plans the task: a server's or a worker's engine).
    for process in [*cluster.workers, server]:
        process.stop()
    cluster.env["REELFLOW_CHUNK_SECONDS"] = "0"
    one = cluster.serve()
    cluster.worker()
    cluster.worker()
    one_task, out_one = run_ladder(one, definition, tmp_path / "b")
    kinds = cluster.rows("SELECT kind FROM jobs WHERE task_id = :t", t=one_task)
    assert {"chunk", "join"}.isdisjoint(row.kind for row in kinds)

    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        p.name for p in (tmp_path / "b").iterdir()
    )
    assert [r["Kind"] for r in out["Renditions"]].count("video") == 2
    for mine, theirs in zip(out["Renditions"], out_one["Renditions"], strict=True):
        assert (mine["Kind"], mine["SegmentCount"]) == (theirs["Kind"], theirs["SegmentCount"])
        assert mine["Duration"] == pytest.approx(theirs["Duration"], abs=1e-3)
        playlist = mine["Playlist"]
        durations = [s.duration for s in m3u8.load(str(tmp_path / "a" / playlist)).segments]
        durations_one = [s.duration for s in m3u8.load(str(tmp_path / "b" / playlist)).segments]
        assert durations == pytest.approx(durations_one, abs=1e-3)
        stream = "v:0" if mine["Kind"] == "video" else "a:0"
        times = decode_playlist(ffmpeg_bin, tmp_path / "a" / playlist, stream)
        times_one = decode_playlist(ffmpeg_bin, tmp_path / "b" / playlist, stream)
        assert len(times) == len(times_one)
        if mine["Kind"] == "video":
            assert mine["SegmentCount"] == DURATION / 2
            assert len(times) == DURATION * FPS
            rel = [t - times[0] for t in times]
            rel_one = [t - times_one[0] for t in times_one]
            assert rel == pytest.approx(rel_one, abs=1e-3)
