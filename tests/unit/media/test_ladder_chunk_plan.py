"""Segment-aligned chunk plans of a ladder (``plan_ladder_chunks``) and the argv of a
chunk: pure, no FFmpeg."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reelflow.media.ladder.chunked import (
    LEAD,
    first_segment,
    ladder_chunk_command,
    ladder_chunkable,
    plan_ladder_chunks,
)
from reelflow.media.ladder.dash import merge_mpd
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


@pytest.mark.parametrize(
    ("fmt", "fps", "kind", "chunked"),
    [
        (LadderFormat.HLS, 30000 / 1001, SegmentType.TS, True),
        (LadderFormat.DASH, 25.0, SegmentType.MP4, True),
        (LadderFormat.CMAF, 30.0, SegmentType.MP4, True),
        # 6 s at 29.97 fps is 179.82 frames: the dash muxer's cuts would drift from chunk to chunk
        (LadderFormat.DASH, 30000 / 1001, SegmentType.MP4, False),
        (LadderFormat.HLS, 25.0, SegmentType.MP4_BYTERANGE, False),
    ],
)
def test_which_ladders_are_chunked(
    fmt: LadderFormat, fps: float, kind: SegmentType, chunked: bool
) -> None:
    assert (
        ladder_chunkable(ladder(fps=fps, kind=kind).model_copy(update={"format": fmt})) is chunked
    )


def test_a_dash_chunk_is_muxed_at_its_own_time_with_absolute_fragment_times() -> None:
    dash = ladder(kind=SegmentType.MP4).model_copy(update={"format": LadderFormat.DASH})
    chunk = plan_ladder_chunks(200.0, dash, 60).chunks[1]
    video = VideoStreamInfo(0, "h264", 320, 180, 0, 25.0, 25, 1, "yuv420p", None, 200.0, False, 200)
    info = MediaInfo("mov,mp4", 200.0, 1, None, (video,), ())
    args = ladder_chunk_command("in.mp4", info, dash, chunk, Path("/raw")).args
    # no lead: the dash muxer shifts nothing, so the chunk sits at the one-shot's times
    assert float(args[args.index("-output_ts_offset") + 1]) == 60
    assert args[args.index("-format_options") + 1] == "movflags=+frag_discont"
    assert "-start_number" not in args and args[args.index("-f") + 1] == "dash"


def _mpd(tmp: Path, name: str, reps: str) -> Path:
    path = tmp / name
    path.write_text(
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT20.0S"><Period id="0">'
        f"{reps}</Period></MPD>"
    )
    return path


def _video(*timeline: str) -> str:
    s = "".join(timeline)
    return (
        '<AdaptationSet id="0" contentType="video"><Representation id="0" width="320">'
        f'<SegmentTemplate timescale="12800"><SegmentTimeline>{s}</SegmentTimeline>'
        "</SegmentTemplate></Representation></AdaptationSet>"
    )


def test_merged_mpd_lists_every_chunks_segments_over_the_audio_runs_mpd(tmp_path: Path) -> None:
    audio = _mpd(
        tmp_path,
        "audio.mpd",
        _video('<S t="0" d="25600" r="9" />').replace('width="320"', 'width="64"')
        + '<AdaptationSet id="1" contentType="audio"><Representation id="1"/></AdaptationSet>',
    )
    chunks = [
        _mpd(tmp_path, "c0.mpd", _video('<S t="0" d="25600" r="2" />')),
        _mpd(tmp_path, "c1.mpd", _video('<S t="76800" d="25600" />', '<S d="12800" />')),
    ]
    merge_mpd(chunks, audio, tmp_path / "out.mpd")
    root = ET.parse(tmp_path / "out.mpd").getroot()
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    sets = root.findall("d:Period/d:AdaptationSet", ns)
    assert [a.get("contentType") for a in sets] == ["video", "audio"]
    assert sets[0].find("d:Representation", ns).get("width") == "320"  # type: ignore[union-attr]
    assert [s.attrib for s in root.iterfind(".//d:S", ns)] == [
        {"t": "0", "d": "25600", "r": "3"},
        {"d": "12800"},
    ]
    assert root.get("mediaPresentationDuration") == "PT20.0S"
    gap = _mpd(tmp_path, "c2.mpd", _video('<S t="80000" d="25600" />'))
    with pytest.raises(ValueError, match="not where the previous one ended"):
        merge_mpd([chunks[0], gap], audio, tmp_path / "out.mpd")


def test_without_audio_the_merged_mpd_is_the_first_chunks_over_the_whole_timeline(
    tmp_path: Path,
) -> None:
    chunks = [
        _mpd(tmp_path, "c0.mpd", _video('<S t="0" d="25600" r="2" />')),
        _mpd(tmp_path, "c1.mpd", _video('<S t="76800" d="25600" />')),
    ]
    merge_mpd(chunks, None, tmp_path / "out.mpd")
    root = ET.parse(tmp_path / "out.mpd").getroot()
    assert root.get("mediaPresentationDuration") == "PT8.000S"
    assert len(root.findall(".//{urn:mpeg:dash:schema:mpd:2011}Representation")) == 1
