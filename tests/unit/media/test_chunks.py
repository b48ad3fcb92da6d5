"""Chunk plans and the chunk/audio/join argv builders: pure, compared as values."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from reelflow.media.chunks import (
    allocate,
    audio_command,
    bits_per_second,
    chunk_command,
    chunkable,
    concat_list,
    fused_chunk_command,
    group_headroom,
    join_command,
    output_frame_times,
    plan_chunks,
    probe_command,
    scene_command,
    scene_times,
    should_chunk,
)
from reelflow.media.chunks.command import _with_zones
from reelflow.media.chunks.rates import ALLOCATION_POWER, MAX_RATE_FACTOR, MIN_RATE_FACTOR
from reelflow.specs.chunks import Chunk, ChunkPlan
from reelflow.specs.units import VideoCodec
from reelflow.specs.works import TranscodeWork
from tests.unit.media.test_command import media_info, rendition

GRID = output_frame_times(6.0, 25)


def test_chunking_needs_a_setting_and_more_than_two_chunks() -> None:
    assert not should_chunk(6.0, 0)
    assert not should_chunk(4.0, 2.0)
    assert should_chunk(4.04, 2.0)
    assert plan_chunks(output_frame_times(4.0, 25), 4.0, 2.0) is None
    assert plan_chunks(GRID, 6.0, 0) is None


def test_a_plan_tiles_the_output_with_cuts_between_frames() -> None:
    plan = plan_chunks(GRID, 6.0, 2.0)
    assert plan is not None
    assert plan.chunks == [
        Chunk(index=0, start=0.0, end=2.0, cut_start=0.0, cut_end=1.98, frames=50,
              at_keyframe=True),
        Chunk(index=1, start=2.0, end=4.0, cut_start=1.98, cut_end=3.98, frames=50),
        Chunk(index=2, start=4.0, end=6.0, cut_start=3.98, cut_end=0.0, frames=50),
    ]  # fmt: skip
    assert plan.frames == len(GRID) == 150


def test_chunks_are_about_equal_and_the_remainder_is_shared() -> None:
    plan = plan_chunks(output_frame_times(10.0, 25), 10.0, 3.0)
    assert plan is not None
    assert [c.start for c in plan.chunks] == [0.0, 3.32, 6.68]  # targets 3.33 and 6.67
    assert [c.frames for c in plan.chunks] == [83, 84, 83]


def test_a_keyframe_in_the_window_wins_one_outside_does_not() -> None:
    plan = plan_chunks(GRID, 6.0, 2.0, keyframes=[0.0, 2.4, 5.0])
    assert plan is not None
    assert [(c.start, c.at_keyframe) for c in plan.chunks] == [
        (0.0, True), (2.4, True), (4.0, False),
    ]  # fmt: skip
    wide = plan_chunks(GRID, 6.0, 2.0, keyframes=[0.0, 2.4, 5.0], window=1.0)
    assert wide is not None
    assert [c.start for c in wide.chunks] == [0.0, 2.4, 5.0]


def test_a_keyframe_off_the_output_grid_moves_to_the_frame_showing_it() -> None:
    # A 30 fps source's keyframe at 2.0333 s is shown by the 25 fps frame at 2.04 s.
    plan = plan_chunks(GRID, 6.0, 2.0, keyframes=[61 / 30])
    assert plan is not None
    assert plan.chunks[1].start == pytest.approx(2.04)


def test_variable_frame_times_cut_halfway_between_their_neighbours() -> None:
    times = [t / 25 for t in range(150) if t % 5 != 2]  # 2.08 s missing, among others
    plan = plan_chunks(times, 6.0, 2.0, keyframes=[2.12])
    assert plan is not None
    starts = [(c.start, c.cut_start) for c in plan.chunks[1:]]
    assert starts == [(2.12, pytest.approx(2.08)), (4.0, pytest.approx(3.98))]
    assert plan.frames == len(times) == 120


def test_a_plan_with_a_gap_is_refused() -> None:
    first = Chunk(index=0, start=0.0, end=2.0, cut_start=0.0, cut_end=1.98, frames=50)
    second = Chunk(index=1, start=2.04, end=6.0, cut_start=2.02, frames=99)
    with pytest.raises(ValidationError, match="does not start where 0 ends"):
        ChunkPlan(chunk_seconds=2.0, end=6.0, chunks=[first, second])


def test_a_chunk_is_the_rendition_chain_cut_on_its_own_timeline() -> None:
    plan = plan_chunks(GRID, 6.0, 2.0)
    assert plan is not None
    work = rendition(0, 100010, width=320, height=240)
    middle = chunk_command(
        "/in.mp4", media_info(), work, plan.chunks[1], Path("/w/c1.mp4"),
        work_dir=Path("/w"), video_preset="fast", threads=1,
    )  # fmt: skip
    graph = (
        "[0:v:0]null,split=1[src0];"
        "[src0]fps=25,scale=320:240:flags=bicubic,setsar=1,format=yuv420p[v1];"
        "[v1]trim=start=1.98:end=3.98,setpts=PTS-STARTPTS[chunk0]"
    )
    head = [
        "-y", "-filter_threads", "1", "-filter_complex_threads", "1", "-threads", "1",
        "-i", "/in.mp4",  # 1 s before 1.98 s is not a whole second in: no seek
        "-filter_complex", graph,
        "-map", "[chunk0]", "-threads", "1",
        "-c:v", "libx264", "-preset", "fast", "-profile:v", "high",
        "-b:v", "400k", "-maxrate", "600k", "-bufsize", "800k",
    ]  # fmt: skip
    # H.264 at a bitrate: a first pass over the chunk, then the encode reading its stats.
    log = ["-passlogfile", "/w/chunk1-w0-pass"]
    assert middle.runs == [
        [*head, "-pass", "1", *log, "-an", "-sn", "-dn", "-f", "null", os.devnull],
        [*head, "-pass", "2", *log,
         "-an", "-sn", "-dn", "-map_metadata", "-1", "-f", "mp4", "/w/c1.mp4"],
    ]  # fmt: skip
    assert middle.duration == 2.0


def test_renditions_of_one_chunk_are_fused_from_one_decode() -> None:
    plan = plan_chunks(GRID, 6.0, 2.0)
    assert plan is not None
    bitrate = rendition(0, 100010, width=320, height=240)  # 400 kbit/s VBV: two passes
    video = bitrate.template.video_template
    assert video is not None
    crf = rendition(
        1,
        width=160,
        height=120,
        template=bitrate.template.model_copy(
            update={"video_template": video.model_copy(update={"bitrate": 0, "vcrf": 23})}
        ),
    )
    command = fused_chunk_command(
        "/in.mp4", media_info(), [bitrate, crf], plan.chunks[1],
        [Path("/w/a.mp4"), Path("/w/b.mp4")], work_dir=Path("/w"),
    )  # fmt: skip
    first, encode = command.runs
    # One input, one split: both renditions from one decode.
    for args in command.runs:
        assert args.count("-i") == 1
        assert args[args.index("-filter_complex") + 1].startswith("[0:v:0]null,split=2[src0][src1]")
    # The first pass encodes the bitrate rendition only; the CRF one ends in a null sink.
    assert first.count("-pass") == 1
    assert "[chunk1]nullsink" in first[first.index("-filter_complex") + 1]
    assert "/w/a.mp4" not in first and "/w/b.mp4" not in first
    assert encode[-1] == "/w/b.mp4" and "/w/a.mp4" in encode
    assert encode.count("-pass") == 1 and encode[encode.index("-pass") + 1] == "2"
    assert encode[encode.index("-crf") - 1] != "-pass"
    # REELFLOW_CHUNK_FIRST_PASS=false: one encode, no pass options; the bitrate rendition
    # gets three times its rate on the chunk's first 0.5 s (frames 0-12 at 25 fps: x264 zones),
    # the CRF one nothing; the chains are cut as they are.
    [single] = fused_chunk_command(
        "/in.mp4", media_info(), [bitrate, crf], plan.chunks[1],
        [Path("/w/a.mp4"), Path("/w/b.mp4")], work_dir=Path("/w"), first_pass=False,
    ).runs  # fmt: skip
    assert "-pass" not in single and single[-1] == "/w/b.mp4" and "/w/a.mp4" in single
    graph = single[single.index("-filter_complex") + 1]
    assert graph.endswith("trim=start=1.98:end=3.98,setpts=PTS-STARTPTS[chunk1]")
    assert single.count("-x264-params") == 1
    zones = single[single.index("-x264-params") + 1]
    assert zones == "zones=0,12,b=3"
    assert single.index("-x264-params") < single.index("/w/a.mp4")  # the bitrate rendition's
    assert "-force_key_frames" not in single
    # The first chunk gets no boost: it starts where the one-shot encode starts.
    [whole] = fused_chunk_command(
        "/in.mp4", media_info(), [bitrate], plan.chunks[0], [Path("/w/a.mp4")],
        work_dir=Path("/w"), first_pass=False,
    ).runs  # fmt: skip
    assert "-x264-params" not in whole
    # CBR already passes x264 parameters: the zone joins them.
    assert _with_zones(["-b:v", "1k", "-x264-params", "nal-hrd=cbr:force-cfr=1"], "0,12,b=3") == [
        "-b:v", "1k", "-x264-params", "nal-hrd=cbr:force-cfr=1:zones=0,12,b=3"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="2 outputs for 1 works"):
        fused_chunk_command(
            "/in.mp4", media_info(), [crf], plan.chunks[0],
            [Path("/w/a.mp4"), Path("/w/b.mp4")], work_dir=Path("/w"),
        )  # fmt: skip


def test_an_h265_chunk_at_a_bitrate_gets_its_own_boosted_start() -> None:
    plan = plan_chunks(GRID, 6.0, 2.0)
    assert plan is not None
    h264 = rendition(0, 100010, width=320, height=240)
    video = h264.template.video_template
    assert video is not None
    h265 = h264.model_copy(
        update={"template": h264.template.model_copy(
            update={"video_template": video.model_copy(update={"codec": VideoCodec.H265})}
        )}
    )  # fmt: skip
    # H.265 takes no first pass, even when one is asked: its one pass gets a boosted start
    # (x265 zones, joined to its own parameters), half as high as x264's.
    for first_pass in (True, False):
        [single] = fused_chunk_command(
            "/in.mp4", media_info(), [h265], plan.chunks[1], [Path("/w/a.mp4")],
            work_dir=Path("/w"), first_pass=first_pass,
        ).runs  # fmt: skip
        assert "-pass" not in single and "-x264-params" not in single
        params = single[single.index("-x265-params") + 1]
        assert params == "log-level=error:zones=0,12,b=1.5"
    [whole] = fused_chunk_command(
        "/in.mp4", media_info(), [h265], plan.chunks[0], [Path("/w/a.mp4")],
        work_dir=Path("/w"), first_pass=False,
    ).runs  # fmt: skip
    assert "zones" not in whole[whole.index("-x265-params") + 1]


def test_a_late_chunk_seeks_whole_seconds_early_and_restores_its_timestamps() -> None:
    grid = output_frame_times(12.0, 25)
    plan = plan_chunks(grid, 12.0, 4.0)
    assert plan is not None
    last = plan.chunks[-1]
    args = chunk_command(
        "/in.mp4", media_info(), rendition(0), last, Path("/w/c.mp4"), work_dir=Path("/w")
    ).runs[-1]
    assert args[args.index("-ss") + 1] == "6"  # floor(7.98 - 1)
    graph = args[args.index("-filter_complex") + 1]
    assert "-noaccurate_seek" not in args  # FFmpeg drops the frames before 6 s
    # The frames before the 1 s margin are dropped before the rendition's filters.
    assert graph.startswith("[0:v:0]setpts=PTS+6/TB,trim=start=6.98,split=1[src0];")
    assert graph.endswith("[v1]trim=start=7.98,setpts=PTS-STARTPTS[chunk0]")
    assert "-threads" not in args


def test_a_chunk_at_a_keyframe_seeks_where_the_demuxer_lands_on_it() -> None:
    grid = output_frame_times(30.0, 25)
    # The boundary at 10 s falls on a keyframe; the one at 20 s does not, and the seek that
    # would land on the keyframe before it (19.5 s: 20 s) is too close to the next (20.3 s).
    plan = plan_chunks(grid, 30.0, 10.0, keyframes=[0.0, 10.0, 19.5, 20.3], window=0.1)
    assert plan is not None
    assert [c.keyframe_seek for c in plan.chunks] == [None, 11, None]
    clear = plan_chunks(grid, 30.0, 10.0, keyframes=[0.0, 10.0, 16.7, 17.1], window=0.1)
    assert clear is not None
    assert [c.keyframe_seek for c in clear.chunks] == [None, 11, 18]  # lands on 17.1 s
    second = chunk_command(
        "/in.mp4", media_info(), rendition(0), plan.chunks[1], Path("/w/c.mp4"),
        work_dir=Path("/w"),
    ).runs[-1]  # fmt: skip
    # Decoding starts at the keyframe at 10 s (FFmpeg looks 0.13 s before 11 s for a
    # keyframe), FFmpeg drops nothing itself; the timestamps are put back.
    assert second[second.index("-ss") - 1 : second.index("-ss") + 2] == [
        "-noaccurate_seek", "-ss", "11",
    ]  # fmt: skip
    graph = second[second.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]setpts=PTS+11/TB,trim=start=8.98,split=1[src0];")
    assert graph.endswith("[v1]trim=start=9.98:end=19.98,setpts=PTS-STARTPTS[chunk0]")
    third = chunk_command(
        "/in.mp4", media_info(), rendition(0), plan.chunks[2], Path("/w/c.mp4"),
        work_dir=Path("/w"),
    ).runs[-1]  # fmt: skip
    assert third[third.index("-ss") - 1 : third.index("-ss") + 2] == ["-y", "-ss", "18"]
    # An MPEG-TS demuxer seeks by timestamps, not on an index: that chunk seeks by time.
    ts = chunk_command(
        "/in.ts", replace(media_info(), container="mpegts"), rendition(0), plan.chunks[1],
        Path("/w/c.mp4"), work_dir=Path("/w"),
    ).runs[-1]  # fmt: skip
    assert "-noaccurate_seek" not in ts
    assert ts[ts.index("-ss") + 1] == "8"  # floor(9.98 - 1)


def test_only_whole_file_video_renditions_are_chunked() -> None:
    assert chunkable(rendition(0))
    assert not chunkable(rendition(0, 1010))  # audio only
    assert not chunkable(rendition(0, start=1.0))
    with pytest.raises(ValueError, match="cannot be chunked"):
        chunk_command(
            "/in.mp4", media_info(), rendition(0, start=1.0),
            Chunk(index=0, start=0, end=2, cut_start=0, frames=50), Path("/w/c.mp4"),
            work_dir=Path("/w"),
        )  # fmt: skip


def test_audio_is_encoded_once_whole_or_not_at_all() -> None:
    args = audio_command("/in.mp4", media_info(), rendition(0), Path("/w/a.m4a"))
    assert args == [
        "-y", "-i", "/in.mp4", "-vn", "-map", "0:a:0",
        "-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2",
        "-sn", "-dn", "-map_metadata", "-1", "-f", "mp4", "/w/a.m4a",
    ]  # fmt: skip
    assert audio_command("/in.mp4", media_info(audio=False), rendition(0), Path("/a")) is None


def test_the_concat_script_gives_each_chunk_its_exact_duration() -> None:
    plan = plan_chunks(output_frame_times(10.0, 25), 10.0, 3.0)
    assert plan is not None
    files = [Path("/w/c0.mp4"), Path("/w/it's.mp4"), Path("/w/c2.mp4")]
    assert concat_list(plan, files) == (
        "ffconcat version 1.0\n"
        "file '/w/c0.mp4'\nduration 3.32\n"
        "file '/w/it'\\''s.mp4'\nduration 3.36\n"
        "file '/w/c2.mp4'\nduration 3.32\n"
    )
    with pytest.raises(ValueError, match="2 chunk files for 3 chunks"):
        concat_list(plan, files[:2])


def test_the_join_copies_the_chunks_and_the_audio_into_the_rendition_container() -> None:
    work = rendition(0)
    assert join_command(work, Path("/w/l.txt"), Path("/w/a.m4a"), Path("/w/out.mp4")) == [
        "-y", "-f", "concat", "-safe", "0", "-i", "/w/l.txt", "-i", "/w/a.m4a",
        "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-map_metadata", "-1",
        "-f", "mp4", "-movflags", "+faststart", "/w/out.mp4",
    ]  # fmt: skip
    silent = join_command(work, Path("/w/l.txt"), None, Path("/w/out.mp4"))
    assert "1:a:0" not in silent and silent.count("-i") == 1
    # Audio that starts after the video: its offset put back before its input.
    late = join_command(
        work, Path("/w/l.txt"), Path("/w/a.m4a"), Path("/w/out.mp4"), audio_start=0.5
    )
    assert late[late.index("-itsoffset") : late.index("/w/a.m4a") + 1] == [
        "-itsoffset", "0.5", "-i", "/w/a.m4a",
    ]  # fmt: skip


def test_a_boundary_prefers_a_scene_cut_then_a_keyframe_in_its_window() -> None:
    grid = output_frame_times(12.0, 25)
    # Targets 4 and 8 (window 1 s): a scene cut at 4.6 beats the keyframe at 4.2; at 8 only
    # a keyframe (7.4) is near; a scene cut 1.5 s away is out of reach.
    plan = plan_chunks(grid, 12.0, 4.0, keyframes=(0.0, 4.2, 7.4), scenes=(4.6, 9.5))
    assert plan is not None
    assert [c.start for c in plan.chunks] == [0.0, 4.6, 7.4]
    assert [c.at_keyframe for c in plan.chunks] == [True, False, True]


def test_scene_cuts_are_read_from_metadata_print() -> None:
    args = scene_command("/in.mp4", 3.5, 1.0, Path("/w/s.txt"), threads=1)
    assert args[args.index("-ss") + 1] == "3.500" and args[args.index("-t") + 1] == "1.000"
    assert "-copyts" in args
    assert args[args.index("-vf") + 1] == (
        "scale=160:-2,scdet=threshold=10:sc_pass=1,metadata=print:file=/w/s.txt"
    )
    printed = "frame:0    pts:33280   pts_time:2.6\nlavfi.scd.score=29.3\nlavfi.scd.time=2.6\n"
    assert scene_times(printed, offset=1.4) == [pytest.approx(1.2)]


def _with_mode(work: TranscodeWork, mode: str, **video: object) -> TranscodeWork:
    template = work.template
    assert template.video_template is not None
    changed = template.video_template.model_copy(update={"mode": mode, **video})
    return work.model_copy(
        update={"template": template.model_copy(update={"video_template": changed})}
    )


def test_a_chunks_rate_factor_scales_the_target_under_the_same_peak() -> None:
    plan = plan_chunks(GRID, 6.0, 2.0)
    assert plan is not None
    vbr = rendition(0, 100010)  # 400 kbit/s, peak 600, buffer 800
    crf = _with_mode(rendition(1, 100010), "VCRF", bitrate=0, vcrf=23)
    cbr = _with_mode(rendition(2, 100010), "CBR")

    def rates(work: TranscodeWork, factor: float) -> list[str]:
        [args] = chunk_command(
            "/in.mp4", media_info(), work, plan.chunks[1], Path("/w/c.mp4"),
            work_dir=Path("/w"), first_pass=False, rate_factor=factor,
        ).runs  # fmt: skip
        return [f"{o}={args[args.index(o) + 1]}" for o in ("-b:v", "-maxrate", "-bufsize", "-crf")
                if o in args]  # fmt: skip

    assert rates(vbr, 1.0) == ["-b:v=400k", "-maxrate=600k", "-bufsize=800k"]
    assert rates(vbr, 0.55) == ["-b:v=220k", "-maxrate=600k", "-bufsize=800k"]
    assert rates(vbr, 2.0) == ["-b:v=600k", "-maxrate=600k", "-bufsize=800k"]  # at the peak
    assert rates(crf, 2.0) == ["-crf=23"]  # nothing to share out
    assert rates(cbr, 2.0) == ["-b:v=400k", "-maxrate=400k", "-bufsize=400k"]
    assert group_headroom([vbr]) == 1.5
    assert group_headroom([crf, vbr]) == 1.5
    assert group_headroom([_with_mode(vbr, "ABR")]) == MAX_RATE_FACTOR
    assert group_headroom([crf, cbr]) is None


def test_the_rate_is_shared_by_difficulty_and_averages_the_templates() -> None:
    # Equal difficulty: the template's rate everywhere.
    assert allocate([10.0, 10.0, 10.0], [2.0, 2.0, 2.0], 1.5) == [1.0, 1.0, 1.0]
    # Proportional to the difficulty (to the power, 1 here), weighted by each chunk's duration.
    assert allocate([1.0, 3.0], [2.0, 2.0], 4.0, power=1) == [0.5, 1.5]
    factors = allocate([1.0, 2.0], [3.0, 1.0], 4.0, power=1)
    assert factors == [0.8, 1.6] and pytest.approx(4.0) == 0.8 * 3 + 1.6 * 1
    # The default power, 0.5: four times as hard gets twice the rate.
    assert ALLOCATION_POWER == 0.5
    assert allocate([1.0, 4.0], [2.0, 2.0], 4.0) == pytest.approx([2 / 3, 4 / 3], abs=1e-4)
    # A chunk above the peak is held there; what it gave up goes to the others by theirs.
    assert allocate([1.0, 1.0, 8.0], [1.0, 1.0, 1.0], 1.5, power=1) == [0.75, 0.75, 1.5]
    # An empty (black) chunk keeps the floor; the others pay for it.
    assert allocate([0.0, 1.0, 1.0], [1.0, 1.0, 1.0], 1.5) == [MIN_RATE_FACTOR, 1.375, 1.375]
    # Nothing measured at all: the template's rate.
    assert allocate([0.0, 0.0], [1.0, 1.0], 1.5) == [1.0, 1.0]
    with pytest.raises(ValueError, match="2 difficulties for 1 chunks"):
        allocate([1.0, 2.0], [1.0], 1.5)
    assert bits_per_second(1000, 2.0) == 4000.0 and bits_per_second(1000, 0.0) == 0.0


def test_a_chunks_probe_is_its_frames_small_at_a_constant_quality() -> None:
    grid = output_frame_times(12.0, 25)
    plan = plan_chunks(grid, 12.0, 4.0)
    assert plan is not None
    args = probe_command("/in.mp4", media_info(), plan.chunks[1], 25.0, Path("/w/p.h264"))
    # The chunk's own seek and cut (as its encode's), at half the output's frame rate.
    assert args[args.index("-ss") + 1] == "2"  # floor(3.98 - 1)
    assert args.index("-skip_loop_filter") < args.index("-i")
    assert args[args.index("-skip_frame") + 1] == "bidir"  # the decode is most of its cost
    chain = args[args.index("-vf") + 1]
    assert chain == (
        "setpts=PTS+2/TB,trim=start=2.98,fps=12.5,trim=start=3.98:end=7.98,setpts=PTS-STARTPTS,"
        "scale=320:-2,format=yuv420p"
    )
    assert args[args.index("-preset") + 1] == "ultrafast" and args[args.index("-crf") + 1] == "23"
    assert args[-3:] == ["-f", "h264", "/w/p.h264"]
    first = probe_command("/in.mp4", media_info(), plan.chunks[0], 0.0, Path("/w/p.h264"),
                          threads=1)  # fmt: skip
    assert "-ss" not in first and first.count("-threads") == 2
    assert first[first.index("-vf") + 1] == (
        "trim=end=3.98,setpts=PTS-STARTPTS,scale=320:-2,format=yuv420p"
    )
