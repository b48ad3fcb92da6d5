"""Task graphs against time on a real server: two chains run side by side, each stage
starting as soon as its own upstream ends; a server SIGKILLed between stages resumes at the
unfinished stage and leaves the finished one's output untouched."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.clips import ClipCache
from tests.integration.server.media import (
    LONG_CLIP,
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
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def rendition(
    height: int, name: str, *, reads: str | None = None, preset: str = ""
) -> dict[str, Any]:
    """A transcode node: ``height``p H.264 named ``name``, reading ``reads`` (or the source)."""
    video: dict[str, Any] = {"codec": "libx264", "height": height, "bitrate": 400}
    if preset:
        video["preset"] = preset
    node: dict[str, Any] = {
        "definition": 0,
        "id": name,
        "raw_parameter": {
            "container": "mp4",
            "video_template": video,
            "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
        },
        "output_object_path": f"{{inputName}}_{name}.{{format}}",
    }
    if reads is not None:
        node["input"] = reads
    return node


def screenshots(reads: str, *offsets: str) -> dict[str, Any]:
    """A screenshot node reading ``reads``, at ``offsets`` (default: half way)."""
    return {
        "definition": 10,
        "ext_time_offset_set": list(offsets or ["50%"]),
        "input": reads,
        "output_object_path": f"{{inputName}}_{reads}_shot_{{number}}.{{format}}",
    }


def when(stamp: str) -> datetime:
    """A task document's timestamp as a datetime (compared as times, not as text)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_chains_next_stage_starts_when_its_own_upstream_ends(
    servers: Servers, clips: ClipCache, tmp_path: Path
) -> None:
    # The first stage (both roots read the source) is one FFmpeg process, so both roots end
    # together; the chains part after it: a1 (180p, fast) and b1 (360p at x264's "slow",
    # seconds) read different renditions, so they are two jobs, run at once by two workers.
    data_dir = tmp_path / "data"
    server = servers.start(data_dir, workers="2")
    with server.client() as client:
        upload(client, "graph/chains/clip.mp4", clips(**LONG_CLIP))
        task_id = submit(
            client,
            {
                "input": {"bucket": "media", "key": "graph/chains/clip.mp4"},
                "media_process_task": {
                    "transcode_task_set": [
                        rendition(360, "ra"),
                        rendition(360, "rb"),
                        rendition(180, "a1", reads="ra"),
                        rendition(360, "b1", reads="rb", preset="slow"),
                    ],
                    "snapshot_by_time_offset_task_set": [screenshots("a1"), screenshots("b1")],
                },
            },
        )
        done = wait_finished(client, task_id, timeout=180)
        assert done["phase"] == "succeeded", done
        ra, rb, a1, b1, a2, b2 = done["subtasks"]
        assert [(s["id"], s["input"]) for s in done["subtasks"]] == [
            ("ra", None),
            ("rb", None),
            ("a1", "ra"),
            ("b1", "rb"),
            (None, "a1"),
            (None, "b1"),
        ]
        assert [s["attempts"] for s in done["subtasks"]] == [1] * 6
        # Each stage after its own upstream...
        for up, down in ((ra, a1), (rb, b1), (a1, a2), (b1, b2)):
            assert when(down["started_at"]) >= when(up["finished_at"]), (up, down)
        # ...and chain a's second stage ran while chain b's first was still encoding.
        assert when(a1["finished_at"]) < when(b1["finished_at"]), (a1, b1)
        assert when(a2["started_at"]) < when(b1["finished_at"]), (a2, b1)

        heights = {}
        for node in (ra, rb, a1, b1):
            local = download(client, node["outputs"]["Path"], tmp_path)
            height, duration = video_shape(local)
            heights[node["id"]] = height
            assert duration == pytest.approx(20.0, abs=0.15), node["id"]
        assert heights == {"ra": 360, "rb": 360, "a1": 180, "b1": 360}
        sizes = {}
        for node, name in ((a2, "a2"), (b2, "b2")):
            [pic] = node["outputs"]["PicInfoSet"]
            with Image.open(download(client, pic["Path"], tmp_path)) as opened:
                sizes[name] = opened.size
        assert sizes == {"a2": (320, 180), "b2": (640, 360)}

    # One job per stage and input: the fused roots, then a1, b1, a2, b2 on their own.
    jobs = query(
        data_dir,
        "SELECT subtasks, state, attempt, started_at, finished_at FROM jobs"
        " WHERE kind = 'media' ORDER BY id",
    )
    assert [(row["subtasks"], row["state"], row["attempt"]) for row in jobs] == [
        ("[0, 1]", "succeeded", 1),
        ("[2]", "succeeded", 1),
        ("[3]", "succeeded", 1),
        ("[4]", "succeeded", 1),
        ("[5]", "succeeded", 1),
    ]


def test_sigkill_between_stages_resumes_at_the_unfinished_stage(
    servers: Servers, clips: ClipCache, tmp_path: Path
) -> None:
    # The second stage reads the rendition: screenshots, fused with a 360p encode at x264's
    # "slow" preset, which gives the test seconds to kill the server while it runs.
    data_dir = tmp_path / "data"
    first = servers.start(data_dir, lease_seconds="3")
    with first.client() as client:
        upload(client, "graph/kill/clip.mp4", clips(**LONG_CLIP))
        task_id = submit(
            client,
            {
                "input": {"bucket": "media", "key": "graph/kill/clip.mp4"},
                "media_process_task": {
                    "transcode_task_set": [
                        rendition(360, "r360"),
                        rendition(360, "slow", reads="r360", preset="slow"),
                    ],
                    "snapshot_by_time_offset_task_set": [screenshots("r360", "25%", "50%", "75%")],
                },
            },
        )

        def second_stage_running() -> dict[str, Any] | None:
            doc: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
            _, slow, _ = doc["subtasks"]
            return doc if slow["status"] == "PROCESSING" and slow["progress"] > 0 else None

        before = wait_for(second_stage_running, 60.0, "the second stage to run FFmpeg")
        made = before["subtasks"][0]
        assert made["status"] == "SUCCESS", before
        path = made["outputs"]["Path"]
        etag = client.head(f"/v1/buckets/media/objects{path}").headers["etag"]
        md5 = hashlib.md5(download(client, path, tmp_path).read_bytes()).hexdigest()
    stored = data_dir / "buckets" / "media" / path.lstrip("/")
    mtime = stored.stat().st_mtime_ns

    marker = str(data_dir.resolve())
    assert ffmpeg_processes(marker)  # the second stage's FFmpeg
    assert first.kill() == -9
    wait_for(lambda: not ffmpeg_processes(marker), 2.0, "FFmpeg to die with its server")
    # Read after the kill, so it is what the dead server left: stage 1 done, stage 2 mid-run.
    killed = query(data_dir, "SELECT subtasks, state, attempt FROM jobs WHERE kind = 'media'")
    assert [(row["subtasks"], row["state"], row["attempt"]) for row in killed] == [
        ("[0]", "succeeded", 1),
        ("[1, 2]", "running", 1),
    ]

    second = servers.start(data_dir, lease_seconds="3")
    with second.client() as client:
        done = wait_finished(client, task_id, timeout=120)
        assert done["phase"] == "succeeded", done
        r360, slow, shots = done["subtasks"]
        # The first stage ran once and its output is untouched...
        assert r360 == made
        assert client.head(f"/v1/buckets/media/objects{path}").headers["etag"] == etag
        (tmp_path / "again").mkdir()
        again = download(client, path, tmp_path / "again")
        assert hashlib.md5(again.read_bytes()).hexdigest() == md5
        assert stored.stat().st_mtime_ns == mtime
        # ...the second ran once more, and read the rendition.
        assert [(s["status"], s["attempts"]) for s in done["subtasks"]] == [
            ("SUCCESS", 1),
            ("SUCCESS", 2),
            ("SUCCESS", 2),
        ]
        height, duration = video_shape(download(client, slow["outputs"]["Path"], tmp_path))
        assert (height, duration) == (360, pytest.approx(20.0, abs=0.15))
        pics = shots["outputs"]["PicInfoSet"]
        assert len(pics) == 3
        for pic in pics:
            with Image.open(download(client, pic["Path"], tmp_path)) as opened:
                assert opened.size == (640, 360)

    jobs = query(data_dir, "SELECT subtasks, state, attempt FROM jobs WHERE kind = 'media'")
    assert [(row["subtasks"], row["state"], row["attempt"]) for row in jobs] == [
        ("[0]", "succeeded", 1),
        ("[1, 2]", "succeeded", 2),
    ]
