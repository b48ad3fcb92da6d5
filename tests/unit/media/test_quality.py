"""The pure parts of reelflow.media.quality: the argv, the model, the pooling helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.media.quality import (
    QualityOptions,
    Rendition,
    auto_subsample,
    build_quality_command,
    loopback_scoring,
    percentile,
    pixel_format,
    refine_subsample,
    series,
    standard_error,
)
from reelflow.specs.media import MediaInfo, VideoStreamInfo
from reelflow.specs.quality import QualityScore, VmafScores, vmaf_model


def source(
    width: int = 1920, height: int = 1080, rotation: int = 0, pix: str = "yuv420p"
) -> MediaInfo:
    video = VideoStreamInfo(
        index=0, codec="h264", width=width, height=height, rotation=rotation, fps=30.0,
        fps_num=30000, fps_den=1001, pix_fmt=pix, bitrate=None, duration=10.0,
        interlaced=False, frame_count=None,
    )  # fmt: skip
    return MediaInfo("mov", 10.0, None, None, (video,), ())


def graph(args: list[str]) -> list[str]:
    return args[args.index("-filter_complex") + 1].split(";")


def test_one_decode_split_into_one_scorer_chain_per_rendition() -> None:
    renditions = [
        Rendition(Path("/w/a.mp4"), 640, 360, fps=25),
        Rendition(Path("/w/b.mp4"), 3840, 2160),
    ]
    cmd = build_quality_command("/in.mp4", source(), renditions, Path("/w"), QualityOptions(4, 2))
    assert cmd.args[:7] == ["-y", "-i", "/in.mp4", "-i", "/w/a.mp4", "-i", "/w/b.mp4"]
    chains = graph(cmd.args)
    assert chains[0] == "[0:v:0]split=2[s0][s1]"
    keep = r"select='lt(mod(n+1\,4)\,3)'"  # the frames around every 4th (see _triplets)
    middle = r"select='not(mod(n\,3))'"  # the scored ones among them
    assert chains[1:5] == [
        f"[s0]setpts=PTS-STARTPTS,fps=25,{keep},format=yuv420p,split=2[r0v][r0m]",
        f"[1:v:0]setpts=PTS-STARTPTS,fps=25,{keep},"
        "scale=1920:1080:flags=bicubic,format=yuv420p,setsar=1,split=2[d0v][d0m]",
        f"[r0m]{middle},split=2[r0a][r0b]",
        f"[d0m]{middle}[d0s]",
    ]
    assert chains[5] == "[d0s][r0a]psnr=stats_file=/w/quality0.psnr[p0]"
    assert chains[6] == "[p0][r0b]ssim=stats_file=/w/quality0.ssim,nullsink"
    assert chains[7].startswith("[d0v][r0v]libvmaf=")
    assert "fps=30000/1001" in chains[8]  # the source's exact rate when the rendition keeps it
    vmaf = [c for c in chains if "libvmaf" in c]
    assert "model=version=vmaf_v0.6.1" in vmaf[0] and "n_subsample=3" in vmaf[0]
    assert "model=version=vmaf_4k_v0.6.1" in vmaf[1] and "n_threads=2" in vmaf[1]
    assert [log.model for log in cmd.logs] == ["vmaf_v0.6.1", "vmaf_4k_v0.6.1"]
    assert cmd.args[-7:] == ["-map", "[o0]", "-map", "[o1]", "-f", "null", "-"]
    assert [log.subsample for log in cmd.logs] == [4, 4]


def test_scoring_inside_the_encode_reads_the_encoders_through_loopback_decoders() -> None:
    renditions = [
        Rendition(Path("/w/w0.mp4"), 640, 360),
        Rendition(Path("/w/l2/v1.m3u8"), 1280, 720),
    ]
    encode = ["-y", "-i", "/in.mp4", "-filter_complex", "[0:v:0]split[b0][b1]", "...", "/w/w0.mp4"]
    cmd = loopback_scoring(encode, source(), renditions, [(0, 0), (2, 1)], Path("/w/q"))
    # The encode's arguments untouched, then one loopback decoder per rendition (output
    # file, stream), then the scorers' own graph and its null output.
    assert cmd.args[: len(encode)] == encode
    rest = cmd.args[len(encode) :]
    assert rest[:4] == ["-dec", "0:0", "-dec", "2:1"]
    chains = graph(rest)
    assert chains[0] == "[0:v:0]split=2[qs0][qs1]"  # the source's one decode, shared
    assert chains[2].startswith("[dec:0]setpts=PTS-STARTPTS,")
    assert any(c.startswith("[dec:1]setpts=PTS-STARTPTS,") for c in chains)
    assert all("[s0]" not in c and "[o0]" not in c for c in chains)  # own labels only
    assert rest[-7:] == ["-map", "[qo0]", "-map", "[qo1]", "-f", "null", "-"]
    assert [log.vmaf for log in cmd.logs] == [
        Path("/w/q/quality0.json"),
        Path("/w/q/quality1.json"),
    ]


def test_default_subsampling_scores_about_forty_frames_per_rendition() -> None:
    renditions = [
        Rendition(Path("/w/a.mp4"), 640, 360),  # 10 s at 29.97 fps: every 7th of 300
        Rendition(Path("/w/b.mp4"), 640, 360, fps=25, start=2, end=5.5),  # 87: every 3rd
        Rendition(Path("/w/c.mp4"), 640, 360, fps=25, end=600),  # capped: every 29th
    ]
    cmd = build_quality_command("/in.mp4", source(), renditions, Path("/w"))
    # Always odd: an even n would score frames of one parity only (frame-type patterns).
    assert [log.subsample for log in cmd.logs] == [7, 3, 29]
    assert auto_subsample(79) == 1
    assert auto_subsample(500) == 13  # the bench's 1080p 20 s clip: 39 frames scored


def test_small_subsampling_is_left_to_libvmaf() -> None:
    renditions = [Rendition(Path("/w/a.mp4"), 640, 360)]
    cmd = build_quality_command("/in.mp4", source(), renditions, Path("/w"), QualityOptions(2))
    chains = graph(cmd.args)
    assert "select=" not in chains[1] + chains[2]  # every frame reaches libvmaf
    assert "n_subsample=2" in chains[-1]
    assert chains[3] == r"[r0m]select='not(mod(n\,2))',split=2[r0a][r0b]"  # PSNR/SSIM too


def test_trimmed_range_rotation_and_depth() -> None:
    info = source(1920, 1080, rotation=90, pix="yuv420p10le")
    assert pixel_format(info) == "yuv420p10le"
    cmd = build_quality_command(
        "/in.mp4",
        info,
        [Rendition(Path("/w/a.mp4"), 360, 640, start=2, end=5.5)],
        Path("/w"),
        QualityOptions(1),
    )
    chains = graph(cmd.args)
    assert chains[1].startswith("[s0]trim=start=2:end=5.5,setpts=PTS-STARTPTS,")
    assert "scale=1080:1920:flags=bicubic,format=yuv420p10le" in chains[2]
    assert cmd.duration == 3.5


def test_log_paths_are_escaped_for_the_filtergraph() -> None:
    # Both levels: ':' is escaped as an option value, then that backslash for the graph.
    cmd = build_quality_command(
        "/in.mp4", source(), [Rendition(Path("/w/a.mp4"), 640, 360)], Path("/odd:dir,x")
    )
    assert r"log_path=/odd\\:dir\,x/quality0.json" in graph(cmd.args)[-1]


@pytest.mark.parametrize(
    ("size", "model"),
    [((1920, 1080), "vmaf_v0.6.1"), ((3840, 2160), "vmaf_4k_v0.6.1"),
     ((2160, 3840), "vmaf_4k_v0.6.1"), ((2560, 1440), "vmaf_v0.6.1")],
)  # fmt: skip
def test_model_by_output_size(size: tuple[int, int], model: str) -> None:
    assert vmaf_model(*size) == model


def test_percentile_and_series_keep_dips() -> None:
    assert percentile([float(v) for v in range(101)], 0.01) == 1.0
    values = [90.0] * 5000
    values[2345] = 12.0
    plot = series(values, 100)
    assert len(plot) == 100 and min(plot) == 12.0


def test_standard_error_counts_the_changes_between_neighbouring_scored_frames() -> None:
    # Every frame scored: the mean is the full mean, no sampling error.
    assert standard_error([80.0, 90.0, 70.0], 1) == 0.0
    # A steady title: nothing moves between scored frames.
    assert standard_error([93.0] * 50, 10) == 0.0
    # Noise of standard deviation 1 around a level: about 1 / sqrt(k) (times sqrt(1 - 1/n)).
    wobble = [90.0 + (1.0 if j % 2 else -1.0) for j in range(50)]
    assert standard_error(wobble, 10) == pytest.approx(2 * (0.9 / (2 * 50)) ** 0.5, rel=0.02)
    # One scene cut of 40 VMAF halfway: far less than s / sqrt(k) (the cut is not noise).
    cut = [50.0] * 25 + [90.0] * 25
    naive = 20.0 / 50**0.5  # the spread of the two scenes over sqrt(k)
    assert 0 < standard_error(cut, 10) < naive / 4
    # A stored score from before it was recorded shows null.
    old = VmafScores(mean=95.0, harmonic_mean=94.9, min=80.0, p1=81.0)
    assert old.std_err is None


def _scored(subsample: int, std_err: float | None) -> QualityScore:
    vmaf = VmafScores(mean=90.0, harmonic_mean=89.0, min=60.0, p1=61.0, std_err=std_err)
    return QualityScore(model="vmaf_v0.6.1", subsample=subsample, frames=50, vmaf=vmaf,
                        psnr_mean=40.0, ssim_mean=0.98)  # fmt: skip


def test_a_score_whose_interval_is_wider_than_half_a_vmaf_is_refined() -> None:
    assert refine_subsample(_scored(10, 0.2)) is None  # +/- 0.39: trusted
    assert refine_subsample(_scored(10, None)) is None  # unknown (an old score)
    assert refine_subsample(_scored(1, 3.0)) is None  # every frame already
    # +/- 0.59: (0.59 / 0.5)^2 = 1.38 times the frames, every 14th instead of every 20th.
    assert refine_subsample(_scored(20, 0.3)) == 14
    # A title with scene cuts, +/- 1.96: every frame.
    assert refine_subsample(_scored(10, 1.0)) == 1


def test_result_json_shape() -> None:
    score = QualityScore(
        model="vmaf_v0.6.1", subsample=4, frames=10, psnr_mean=40.0, ssim_mean=0.98,
        vmaf=VmafScores(mean=95.0, harmonic_mean=94.9, min=80.0, p1=81.0, std_err=0.12),
        series=[95.0],
    )  # fmt: skip
    assert score.to_json() == {
        "Model": "vmaf_v0.6.1",
        "Subsample": 4,
        "Frames": 10,
        "Vmaf": {"Mean": 95.0, "HarmonicMean": 94.9, "Min": 80.0, "P1": 81.0, "StdErr": 0.12},
        "Psnr": {"Mean": 40.0},
        "Ssim": {"Mean": 0.98},
    }
