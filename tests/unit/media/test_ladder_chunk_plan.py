"""Segment-aligned chunk plans of a ladder (``plan_ladder_chunks``) and the argv of a
chunk: pure, no FFmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.media.ladder.chunked import (
    LEAD,
    first_segment,
    ladder_chunk_command,
    plan_ladder_chunks,
)
from reelflow.specs.ladders import LadderFormat, ResolvedLadder, SegmentType, VideoRendition
from reelflow.specs.media import MediaInfo, VideoStreamInfo


def ladder(fps: float = 25.0, seg: int = 6, kind: SegmentType = SegmentType.TS) -> ResolvedLadder:
    rung = VideoRendition(stream_info=0, codec="h264", width=320, height=180, bitrate=400)
    return ResolvedLadder(
        format=LadderFormat.HLS,
        segment_type=kind,
        segment_seconds=seg,
        fps=fps,
        keyint=int(fps * seg),
        video=[rung],
    )


def test_chunks_are_whole_segments_and_tile_the_frames() -> None:
    plan = plan_ladder_chunks(200.0, ladder(), 60)  # 60 s = 10 segments of 6 s
    assert [(c.start, c.end) for c in plan.chunks] == [(0, 60), (60, 120), (120, 180), (180, 200)]
    assert plan.frames == 5000
    assert [first_segment(c, ladder()) for c in plan.chunks] == [0, 10, 20, 30]
    assert plan.chunks[1].cut_start == pytest.approx(59.98)


def test_chunk_length_rounds_to_segments() -> None:
    plan = plan_ladder_chunks(100.0, ladder(seg=4), 11)  # 11 s -> 12 s (3 segments)
    assert plan.chunk_seconds == 12
    assert all((c.start / 4).is_integer() for c in plan.chunks)


def test_ntsc_rate_borders_on_the_first_frame_at_or_after_the_segment_border() -> None:
    fps = 30000 / 1001
    plan = plan_ladder_chunks(130.0, ladder(fps=fps, seg=6), 60)
    # 60 s is frame 1798.2: the border is frame 1799, the first at or after it
    assert plan.chunks[1].start == pytest.approx(1799 / fps)
    assert plan.chunks[1].start >= 60 > plan.chunks[1].start - 1 / fps
    assert plan.frames == round(130.0 * fps)


def test_short_source_is_one_chunk() -> None:
    assert len(plan_ladder_chunks(100.0, ladder(), 60).chunks) == 1
    assert len(plan_ladder_chunks(500.0, ladder(), 0).chunks) == 1


def test_chunk_argv_places_segments_and_timestamps() -> None:
    video = VideoStreamInfo(0, "h264", 320, 180, 0, 25.0, 25, 1, "yuv420p", None, 200.0, False, 200)
    info = MediaInfo("mov,mp4", 200.0, 1, None, (video,), ())
    lad = ladder(kind=SegmentType.MP4)
    chunk = plan_ladder_chunks(200.0, lad, 60).chunks[2]
    args = ladder_chunk_command("in.mp4", info, lad, chunk, Path("/raw")).args
    assert args[args.index("-ss") + 1] == "118"
    assert args[args.index("-start_number") + 1] == "20"
    assert float(args[args.index("-output_ts_offset") + 1]) == LEAD + 120
    assert args[args.index("-hls_time") + 1] == "6"
    assert "movflags=+frag_discont" in args
    assert (
        "trim=start=119.98:end=179.98,setpts=PTS-STARTPTS"
        in args[args.index("-filter_complex") + 1]
    )


def test_a_chunk_off_the_frame_grid_keeps_the_border_as_its_origin() -> None:
    fps = 29.97
    lad = ladder(fps=fps, seg=2)
    video = VideoStreamInfo(
        0, "h264", 320, 180, 0, fps, 30000, 1001, "yuv420p", None, 40.0, False, 1
    )
    info = MediaInfo("mov,mp4", 40.0, 1, None, (video,), ())
    chunk = plan_ladder_chunks(40.0, lad, 8).chunks[4]  # 32 s: frame 960 at 32.0320 s
    delta = chunk.start - 32
    assert 0 < delta < 1 / fps
    args = ladder_chunk_command("in.mp4", info, lad, chunk, Path("/raw")).args
    assert float(args[args.index("-output_ts_offset") + 1]) == pytest.approx(LEAD + chunk.start)
    assert f"expr:gte(t+{delta:.6f},n_forced*2)" in args
    assert float(args[args.index("-hls_time") + 1]) == pytest.approx(2 - delta, abs=1e-6)
