"""The per-title analysis commands, built without running FFmpeg (reelflow.media.pertitle)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.media.pertitle import (
    ProbeOptions,
    build_fused_command,
    build_probe_command,
    build_sample_command,
    scene_starts,
)
from reelflow.media.quality import QualityOptions
from reelflow.specs.media import MediaInfo, VideoStreamInfo


def test_scenes_are_spread_over_the_title_and_a_short_one_is_taken_whole() -> None:
    assert scene_starts(100.0, 4, 2.0) == [(11.5, 2.0), (36.5, 2.0), (61.5, 2.0), (86.5, 2.0)]
    assert scene_starts(8.0, 4, 2.0) == [(0.0, 8.0)]
    assert scene_starts(9.0, 2, 4.0) == [(0.25, 4.0), (4.75, 4.0)]


def test_the_sample_joins_the_scenes_losslessly() -> None:
    args = build_sample_command("in.mp4", [(1.5, 2.0), (6.0, 2.0)], Path("s.mkv"), threads=2)
    assert args[args.index("-filter_complex") + 1] == (
        "[0:v:0]setpts=PTS-STARTPTS[c0];[1:v:0]setpts=PTS-STARTPTS[c1];"
        "[c0][c1]concat=n=2:v=1:a=0[sample]"
    )
    assert args.count("-i") == 2
    first = args.index("-ss")
    assert args[first : first + 6] == ["-ss", "1.5", "-t", "2", "-i", "in.mp4"]
    assert args[-8:] == ["-map", "[sample]", "-c:v", "ffv1", "-an", "-sn", "-dn", "s.mkv"]


def test_one_process_encodes_every_size_at_every_crf() -> None:
    opts = ProbeOptions(crfs=(22, 30), preset="fast", threads=1)
    args, encodes = build_probe_command(Path("s.mkv"), [(320, 180), (160, 90)], Path("w"), opts)
    assert [(e.width, e.height, e.crf) for e in encodes] == [
        (320, 180, 22), (320, 180, 30), (160, 90, 22), (160, 90, 30),
    ]  # fmt: skip
    graph = args[args.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=2[s0][s1];[s0]scale=320:180:flags=bicubic")
    assert args.count("libx264") == 4
    assert args.count("-crf") == 4 and args.count("fast") == 4
    assert str(encodes[3].path) in args


def test_options_need_a_scene_and_a_crf() -> None:
    with pytest.raises(ValueError, match="one CRF"):
        ProbeOptions(crfs=())


def test_one_process_reads_the_scenes_encodes_and_scores_every_probe() -> None:
    video = VideoStreamInfo(
        index=0, codec="h264", width=640, height=360, rotation=0, fps=25.0, fps_num=25,
        fps_den=1, pix_fmt="yuv420p", bitrate=None, duration=10.0, interlaced=False,
        frame_count=250,
    )  # fmt: skip
    info = MediaInfo("mov,mp4", 10.0, None, None, (video,), ())
    opts = ProbeOptions(crfs=(22, 30), threads=1, quality=QualityOptions(subsample=1))
    command, encodes = build_fused_command(
        "in.mp4", info, [(1.0, 1.0), (6.0, 1.0)], [(320, 180), (160, 90)], Path("w"), opts
    )
    args = command.args
    # the source is read once per scene; nothing is written but the probes
    assert args.count("-i") == 2 and "ffv1" not in args
    assert [args[i + 1] for i, a in enumerate(args) if a == "-dec"] == ["0:0", "1:0", "2:0", "3:0"]
    outputs = [a for a in args if a.endswith(".mp4") and a != "in.mp4"]
    assert outputs == [str(e.path) for e in encodes]
    probes, scorers = (args[i + 1] for i, a in enumerate(args) if a == "-filter_complex")
    join = "[0:v:0]setpts=PTS-STARTPTS[{p}c0];[1:v:0]setpts=PTS-STARTPTS[{p}c1];"
    assert probes.startswith(join.format(p="") + "[c0][c1]concat=n=2:v=1:a=0[sample];")
    assert "[sample]split=2[s0][s1]" in probes
    assert scorers.startswith(join.format(p="q") + "[qc0][qc1]concat=n=2:v=1:a=0[qsample];")
    assert "[qsample]split=4" in scorers and scorers.count("libvmaf") == 4
    assert all(f"[dec:{k}]" in scorers for k in range(4))
    assert command.duration == 2.0 and len(command.logs) == 4
