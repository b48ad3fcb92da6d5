"""A long HLS ladder encoded in segment-aligned chunks (``reelflow.media.ladder.chunked``),
against the same ladder made in one FFmpeg run: real FFmpeg on a lavfi clip, the output
read back the way a player and a validator would (``check_stream``, PyAV over the
segments, FFmpeg decoding each whole playlist)."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from reelflow.errors import FFmpegFailed
from reelflow.executors.ladder_chunks import _check_frames
from reelflow.media.ladder import package_ladder
from reelflow.media.ladder.chunked import (
    ladder_audio_command,
    ladder_chunk_command,
    ladder_chunkable,
    plan_ladder_chunks,
    publish_chunked_ladder,
)
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner
from reelflow.media.streamcheck import check_stream
from reelflow.planner.ladder import select_rungs
from reelflow.specs.ladders import LadderTemplate, PackageNames, ResolvedLadder
from reelflow.specs.media import MediaInfo
from reelflow.specs.packages import LadderPackage
from reelflow.specs.templates import TRUSTED
from tests.clips import ClipCache

pytestmark = pytest.mark.integration

SEG = 2
CHUNK = 6  # seconds: 3 segments per chunk
DURATION = 20.0  # 10 segments, chunks of 6 + 6 + 6 + 2 s
RUNGS = ((90, 200, 64), (180, 400, 128))


def template(segment_type: str, fmt: str = "HLS") -> LadderTemplate:
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": v},
         "audio": {"codec": "aac", "bitrate": a, "sample_rate": 48000}}
        for h, v, a in RUNGS
    ]  # fmt: skip
    data: dict[str, Any] = {
        "format": fmt,
        "segment_seconds": SEG,
        "stream_infos": infos,
        "segment_type": segment_type,
    }
    return LadderTemplate.model_validate(data, context=TRUSTED)


def one_shot(
    runner: FFmpegRunner, source: Path, info: MediaInfo, ladder: ResolvedLadder, out: Path
) -> LadderPackage:
    return package_ladder(
        runner,
        str(source),
        info,
        ladder,
        out,
        names=PackageNames.default("clip", 1001),
        video_preset="veryfast",
        threads=1,
        timeout=300,
    )


def chunked(
    runner: FFmpegRunner,
    source: Path,
    info: MediaInfo,
    ladder: ResolvedLadder,
    out: Path,
    chunk_seconds: float = CHUNK,
) -> LadderPackage:
    plan = plan_ladder_chunks(info.duration or 0.0, ladder, chunk_seconds)
    commands = []
    for chunk in plan.chunks:
        raw = out.parent / f"chunk{chunk.index}"
        raw.mkdir()
        command = ladder_chunk_command(
            str(source), info, ladder, chunk, raw, video_preset="veryfast", threads=1
        )
        runner.run(command.args, timeout=300)
        commands.append(command)
    audio_dir = out.parent / "audio"
    audio_dir.mkdir()
    audio = ladder_audio_command(
        str(source), info, ladder, audio_dir, video_preset="veryfast", threads=1
    )
    assert audio is not None
    runner.run(audio.args, timeout=300)
    package = publish_chunked_ladder(
        commands, audio, ladder, out, names=PackageNames.default("clip", 1001)
    )
    # fMP4: every chunk wrote the same init segment (only the first one is published)
    # (HLS ``v0_init.mp4``, DASH ``init_0.m4s``)
    pattern = "*_init.mp4" if ladder.format == "HLS" else "init_*.m4s"
    inits = {p.read_bytes() for c in commands for p in c.raw_dir.glob(pattern)}
    assert len(inits) == (len(ladder.video) if not ladder.segment_type.is_ts else 0)
    for folder in [*(c.raw_dir for c in commands), audio_dir]:
        shutil.rmtree(folder)
    return package


def decode_playlist(ffmpeg: Path, playlist: Path, stream: str) -> list[float]:
    """Every decoded frame's time (s) of the whole playlist, read by FFmpeg's HLS demuxer
    and decoded (``framecrc`` of the raw frames, timestamps passed through)."""
    out = subprocess.run(
        [str(ffmpeg), "-v", "error", "-copyts", "-i", str(playlist), "-map", f"0:{stream}",
         "-fps_mode", "passthrough", "-f", "framecrc", "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    tb = re.search(r"#tb 0: (\d+)/(\d+)", out)
    assert tb is not None, out
    scale = int(tb[1]) / int(tb[2])
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return [int(row[2]) * scale for row in rows]


def segment_durations(playlist: Path) -> list[float]:
    return [s.duration for s in m3u8.loads(playlist.read_text()).segments]


@pytest.mark.parametrize(
    ("segment_type", "fps"),
    [("ts-segment", 25), ("mp4-segment", 25), ("ts-segment", "30000/1001")],
)
def test_chunked_ladder_equals_the_one_shot_ladder(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path, segment_type: str, fps: int | str
) -> None:
    # 29.97 fps (the ladder's rate): 40 s in 8 s chunks, where chunk 4 starts on frame 960
    # at 32.032 s and the one-shot's IDR of the 34 s border is frame 1019 (34.001 s), one
    # frame before 32.032 + 2 s: counting segments from the chunk's first frame misplaces it.
    duration, chunk_seconds = (DURATION, CHUNK) if fps == 25 else (40.0, 8)
    source = clips(duration=duration, width=320, height=180, fps=fps)
    info = probe(source)
    ladder = select_rungs(template(segment_type), info, definition=1001)
    runner = FFmpegRunner(ffmpeg_bin)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = one_shot(runner, source, info, ladder, tmp_path / "a" / "out")
    parts = chunked(runner, source, info, ladder, tmp_path / "b" / "out", chunk_seconds)
    assert len(plan_ladder_chunks(duration, ladder, chunk_seconds).chunks) == 4 + (fps != 25)

    checked = check_stream(str(tmp_path / "b" / "out" / parts.master))
    assert checked.passed, [f"{r.rule} {r.where}: {r.message}" for r in checked.failures]
    assert [f.path for f in parts.files] == [f.path for f in whole.files]
    frame = 1 / ladder.fps
    # Each package's timeline from its first video frame: the one-shot's muxer shifts it by
    # its encoders' delay, the chunked runs by a fixed lead (``chunked.LEAD``).
    zero: dict[str, float] = {}
    for a, b in zip(whole.renditions, parts.renditions, strict=True):
        assert (b.kind, b.segment_count, b.width, b.height) == (
            a.kind,
            a.segment_count,
            a.width,
            a.height,
        )
        assert b.duration == pytest.approx(a.duration, abs=1e-3)
        one = segment_durations(tmp_path / "a" / "out" / a.playlist)
        two = segment_durations(tmp_path / "b" / "out" / b.playlist)
        assert two == pytest.approx(one, abs=1e-3)
        kind = "v:0" if a.kind == "video" else "a:0"
        times_a = decode_playlist(ffmpeg_bin, tmp_path / "a" / "out" / a.playlist, kind)
        times_b = decode_playlist(ffmpeg_bin, tmp_path / "b" / "out" / b.playlist, kind)
        if a.kind == "video":
            assert len(times_b) == len(times_a)
            if fps == 25:
                assert len(times_b) == duration * 25
            assert all(y > x for x, y in itertools.pairwise(times_b))
            zero.setdefault("a", times_a[0])
            zero.setdefault("b", times_b[0])
        else:  # the decoder gives AAC's priming frame and the first one the same time
            assert all(y >= x for x, y in itertools.pairwise(times_b))
        assert len(times_b) == len(times_a)
        rel_a = [t - zero["a"] for t in times_a]
        rel_b = [t - zero["b"] for t in times_b]
        assert rel_b == pytest.approx(rel_a, abs=1e-3)  # audio too: the same A/V offset
    # A/V: every video rendition's duration within one frame of its audio's
    audio = next(r for r in parts.renditions if r.kind == "audio")
    for r in parts.renditions:
        if r.kind == "video":
            assert abs(r.duration - audio.duration) <= frame + 1e-6


@pytest.mark.parametrize(("segment_type", "fmt"), [("ts-segment", "HLS"), ("mp4-segment", "CMAF")])
def test_a_chunk_job_checks_its_frames(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path, segment_type: str, fmt: str
) -> None:
    """The VIDEO node's check (``executors.ladder_chunks``): a middle chunk's segments hold
    exactly its planned frames (fMP4 read behind its init); one frame more or less in the
    plan fails the chunk."""
    source = clips(duration=DURATION, width=320, height=180)
    info = probe(source)
    ladder = select_rungs(template(segment_type, fmt), info, definition=1001)
    chunk = plan_ladder_chunks(DURATION, ladder, CHUNK).chunks[1]
    command = ladder_chunk_command(
        str(source), info, ladder, chunk, tmp_path, video_preset="veryfast", threads=1
    )
    FFmpegRunner(ffmpeg_bin).run(command.args, timeout=300)
    _check_frames(command, chunk)  # 150 frames, 6.0-12.0 s
    for frames in (chunk.frames - 1, chunk.frames + 1):
        with pytest.raises(FFmpegFailed, match="made 150 frames"):
            _check_frames(command, chunk.model_copy(update={"frames": frames}))


def mpd_timelines(mpd: Path) -> dict[str, list[tuple[float, float]]]:
    """Per Representation id: every segment's (start, duration) in seconds, from the MPD's
    ``SegmentTimeline`` (read with ``mpegdash``, as a player would)."""
    parsed = MPEGDASHParser.parse(str(mpd))
    out: dict[str, list[tuple[float, float]]] = {}
    for adaptation in parsed.periods[0].adaptation_sets:
        for rep in adaptation.representations:
            template = rep.segment_templates[0]
            scale = template.timescale
            segments: list[tuple[float, float]] = []
            t = 0
            for s in template.segment_timelines[0].Ss:
                t = s.t if s.t is not None else t
                for _ in range((s.r or 0) + 1):
                    segments.append((t / scale, s.d / scale))
                    t += s.d
            out[rep.id] = segments
    return out


def decode_mpd(ffmpeg: Path, mpd: Path, stream: str) -> list[float]:
    """Every decoded frame's time (s) of one Representation of the whole MPD, read by
    FFmpeg's dash demuxer (run in the MPD's folder: it resolves segment names from there)."""
    out = subprocess.run(
        [str(ffmpeg), "-v", "error", "-copyts", "-i", mpd.name, "-map", f"0:{stream}",
         "-fps_mode", "passthrough", "-enc_time_base", "1/90000", "-f", "framecrc", "-"],
        check=True, capture_output=True, text=True, cwd=mpd.parent,
    ).stdout  # fmt: skip
    tb = re.search(r"#tb 0: (\d+)/(\d+)", out)
    assert tb is not None, out
    scale = int(tb[1]) / int(tb[2])
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return [int(row[2]) * scale for row in rows]


@pytest.mark.parametrize("fmt", ["MPEG-DASH", "CMAF"])
def test_chunked_dash_ladder_equals_the_one_shot_ladder(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path, fmt: str
) -> None:
    """The same for a DASH (and a CMAF) ladder: the chunks' MPD is written from their
    segment timelines, over the audio run's (which carries stand-in video rungs so that the
    dash muxer cuts the audio where the one-shot's cuts it)."""
    source = clips(duration=DURATION, width=320, height=180)
    info = probe(source)
    ladder = select_rungs(template("mp4-segment", fmt), info, definition=1001)
    assert ladder_chunkable(ladder)
    runner = FFmpegRunner(ffmpeg_bin)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = one_shot(runner, source, info, ladder, tmp_path / "a" / "out")
    parts = chunked(runner, source, info, ladder, tmp_path / "b" / "out")
    a_mpd, b_mpd = tmp_path / "a" / "out" / whole.mpd, tmp_path / "b" / "out" / parts.mpd

    manifests = [parts.mpd] + ([parts.master] if fmt == "CMAF" else [])
    for manifest in manifests:
        checked = check_stream(str(tmp_path / "b" / "out" / manifest))
        assert checked.passed, [f"{r.rule} {r.where}: {r.message}" for r in checked.failures]
    assert [f.path for f in parts.files] == [f.path for f in whole.files]
    # the very timeline of the one-shot: every segment's start and duration (1 ms)
    one, two = mpd_timelines(a_mpd), mpd_timelines(b_mpd)
    assert one.keys() == two.keys() == {"0", "1", "2", "3"}
    for rep, segments in one.items():
        assert len(two[rep]) == len(segments) == (10 if rep in ("0", "1") else 11)
        assert [x for s in two[rep] for x in s] == pytest.approx(
            [x for s in segments for x in s], abs=1e-3
        )
    for a, b in zip(whole.renditions, parts.renditions, strict=True):
        assert (b.kind, b.segment_count, b.width, b.height) == (
            a.kind,
            a.segment_count,
            a.width,
            a.height,
        )
        assert b.duration == pytest.approx(a.duration, abs=1e-3)
    # the whole MPD decoded: every Representation's frames at the one-shot's times
    zero: dict[str, float] = {}
    for stream in ("v:0", "v:1", "a:0", "a:1"):
        times_a = decode_mpd(ffmpeg_bin, a_mpd, stream)
        times_b = decode_mpd(ffmpeg_bin, b_mpd, stream)
        assert len(times_b) == len(times_a)
        if stream.startswith("v"):
            assert len(times_b) == DURATION * 25
            assert all(y > x for x, y in itertools.pairwise(times_b))
        else:
            assert all(y >= x for x, y in itertools.pairwise(times_b))
        zero.setdefault("a", times_a[0])
        zero.setdefault("b", times_b[0])
        rel_a = [t - zero["a"] for t in times_a]
        rel_b = [t - zero["b"] for t in times_b]
        assert rel_b == pytest.approx(rel_a, abs=1e-3)
    frame = 1 / ladder.fps
    audio = next(r for r in parts.renditions if r.kind == "audio")
    for r in parts.renditions:
        if r.kind == "video":
            assert abs(r.duration - audio.duration) <= frame + 1e-6
