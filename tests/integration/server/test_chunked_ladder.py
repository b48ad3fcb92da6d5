"""A long HLS (and DASH) ladder chunked through the real engine: a ``reelflow serve`` with two local
workers runs split -> one job per segment-aligned chunk + one audio job -> join (the same
nodes as a chunked rendition), and the stored package equals the one-shot ladder's:
check-stream passes, the same files, segment counts and durations, and each playlist
decodes to the same frames at the same times (from the first frame)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import m3u8
import pytest

from reelflow.media.streamcheck import check_stream
from tests.clips import ClipCache
from tests.integration.media.test_ladder_chunks import decode_mpd, decode_playlist, mpd_timelines
from tests.integration.server.media import download, submit, upload
from tests.integration.server.process import ServerProcess, Servers, wait_finished
from tests.integration.server.test_adaptive import create, folder_of, ladder
from tests.integration.server.test_chunked import chunk_jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DURATION = 12.0  # 6 segments of 2 s; chunks of 4 s (2 segments): 3 chunks
FPS = 25


def run_ladder(server: ServerProcess, clip: Path, into: Path, fmt: str = "HLS") -> dict[str, Any]:
    """Package ``clip`` with a 2-rung ladder; download every file into ``into``."""
    with server.client() as client:
        definition = create(client, ladder(fmt))
        upload(client, "abr/long.mp4", clip)
        body = {
            "input": {"bucket": "media", "key": "abr/long.mp4"},
            "media_process_task": {
                "adaptive_dynamic_streaming_task_set": [{"definition": definition}]
            },
        }
        doc = wait_finished(client, submit(client, body), timeout=240)
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
        return out


def test_a_long_ladder_is_chunked_on_segment_borders(
    servers: Servers, clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    clip = clips(duration=DURATION, width=320, height=180)
    chunked = servers.start(
        tmp_path / "chunked", workers="2", chunk_seconds="4", ffmpeg_threads="1"
    )
    out = run_ladder(chunked, clip, tmp_path / "a")
    one = servers.start(tmp_path / "one", workers="2", chunk_seconds="0", ffmpeg_threads="1")
    out_one = run_ladder(one, clip, tmp_path / "b")

    # The engine's graph: split, audio, three chunks (starting on segment borders), join.
    jobs = chunk_jobs(chunked.data_dir)
    assert [job["part"]["role"] for job in jobs] == ["split", *["video"] * 3, "audio", "join"]
    assert [(job["state"], job["attempt"]) for job in jobs] == [("succeeded", 1)] * 6
    starts = [job["part"]["chunk"]["start"] for job in jobs if job["part"]["role"] == "video"]
    assert starts == [0.0, 4.0, 8.0]
    assert not list((chunked.data_dir / "scratch" / "chunks").rglob("*.tar"))

    master = tmp_path / "a" / out["Path"].rsplit("/", 1)[-1]
    checked = check_stream(str(master))
    assert checked.passed, [f"{r.rule} {r.where}: {r.message}" for r in checked.failures]
    assert out["StreamCheck"]["Passed"] is True
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        p.name for p in (tmp_path / "b").iterdir()
    )
    zero: dict[str, float] = {}
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
        if mine["Kind"] == "video":
            assert len(times) == DURATION * FPS
            assert all(y > x for x, y in itertools.pairwise(times))
            zero.setdefault("a", times[0])
            zero.setdefault("b", times_one[0])
        assert len(times) == len(times_one)
        rel = [t - zero["a"] for t in times]
        rel_one = [t - zero["b"] for t in times_one]
        if mine["Kind"] == "video":
            assert rel == pytest.approx(rel_one, abs=1e-3)
        else:
            # The chunked audio is where the encoder put it: its priming (1024 samples)
            # just before frame 0. The one-shot's hls muxer shifts the video and audio
            # playlists by different amounts (measured: 0.040 s before frame 0 at 44.1 kHz,
            # 17 ms off); both within one frame.
            assert rel[0] == pytest.approx(-1024 / 44100, abs=1e-4)
            assert rel == pytest.approx(rel_one, abs=1 / FPS)


def test_a_long_dash_ladder_is_chunked_on_segment_borders(
    servers: Servers, clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    """The same for MPEG-DASH: the stored MPD lists every segment at the one-shot's time."""
    clip = clips(duration=DURATION, width=320, height=180)
    chunked = servers.start(
        tmp_path / "chunked", workers="2", chunk_seconds="4", ffmpeg_threads="1"
    )
    out = run_ladder(chunked, clip, tmp_path / "a", "MPEG-DASH")
    one = servers.start(tmp_path / "one", workers="2", chunk_seconds="0", ffmpeg_threads="1")
    out_one = run_ladder(one, clip, tmp_path / "b", "MPEG-DASH")

    jobs = chunk_jobs(chunked.data_dir)
    assert [job["part"]["role"] for job in jobs] == ["split", *["video"] * 3, "audio", "join"]
    assert [(job["state"], job["attempt"]) for job in jobs] == [("succeeded", 1)] * 6
    starts = [job["part"]["chunk"]["start"] for job in jobs if job["part"]["role"] == "video"]
    assert starts == [0.0, 4.0, 8.0]
    assert not list((chunked.data_dir / "scratch" / "chunks").rglob("*.tar"))

    name = out["Path"].rsplit("/", 1)[-1]
    assert name.endswith(".mpd") and name == out_one["Path"].rsplit("/", 1)[-1]
    mpd, mpd_one = tmp_path / "a" / name, tmp_path / "b" / name
    checked = check_stream(str(mpd))
    assert checked.passed, [f"{r.rule} {r.where}: {r.message}" for r in checked.failures]
    assert out["StreamCheck"]["Passed"] is True
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        p.name for p in (tmp_path / "b").iterdir()
    )
    for mine, theirs in zip(out["Renditions"], out_one["Renditions"], strict=True):
        assert (mine["Kind"], mine["SegmentCount"]) == (theirs["Kind"], theirs["SegmentCount"])
        assert mine["Duration"] == pytest.approx(theirs["Duration"], abs=1e-3)
    timelines, timelines_one = mpd_timelines(mpd), mpd_timelines(mpd_one)
    assert timelines.keys() == timelines_one.keys() == {"0", "1", "2"}  # one AAC rendition
    for rep, segments in timelines_one.items():
        assert len(timelines[rep]) == len(segments)
        assert [x for s in timelines[rep] for x in s] == pytest.approx(
            [x for s in segments for x in s], abs=1e-3
        )
    zero: dict[str, float] = {}
    for stream in ("v:0", "v:1", "a:0"):
        times, times_one = (
            decode_mpd(ffmpeg_bin, mpd, stream),
            decode_mpd(ffmpeg_bin, mpd_one, stream),
        )
        assert len(times) == len(times_one)
        if stream.startswith("v"):
            assert len(times) == DURATION * FPS
            assert all(y > x for x, y in itertools.pairwise(times))
        zero.setdefault("a", times[0])
        zero.setdefault("b", times_one[0])
        rel = [t - zero["a"] for t in times]
        rel_one = [t - zero["b"] for t in times_one]
        assert rel == pytest.approx(rel_one, abs=1e-3)  # audio too: DASH shifts nothing
