"""Quality scores with the real FFmpeg on tiny lavfi clips (reelflow.media.quality).

The reference for "correct" is the same libvmaf model called directly through a
hand-written FFmpeg command on the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reelflow.media.probe import probe
from reelflow.media.quality import (
    QualityOptions,
    Rendition,
    build_quality_command,
    loopback_scoring,
    read_scores,
    score_renditions,
)
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.quality import QualityScore
from tests.clips import ClipCache, run_ffmpeg

pytestmark = pytest.mark.integration

FULL = QualityOptions(subsample=1)


def encode(src: Path, out: Path, ffmpeg: Path, *, vf: str, rate: str = "crf=18") -> Path:
    """A rendition of ``src`` made by hand (x264, single thread: reproducible)."""
    kind, _, value = rate.partition("=")
    quality = ["-crf", value] if kind == "crf" else ["-b:v", value, "-maxrate", value]
    quality += ["-bufsize", value] if kind != "crf" else []
    run_ffmpeg(
        ["-i", str(src), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", *quality,
         "-threads", "1", "-an", str(out)],
        ffmpeg,
    )  # fmt: skip
    return out


def direct_vmaf(
    ffmpeg: Path, dist: Path, ref: Path, size: str, log: Path, pre: str = "", subsample: int = 1
) -> float:
    """The pooled VMAF mean of libvmaf called directly: the rendition upscaled bicubic to
    ``size``; ``pre`` filters the reference first (empty: as decoded)."""
    graph = (
        f"[0:v]scale={size}:flags=bicubic,format=yuv420p[d];"
        f"[1:v]{pre}format=yuv420p[r];"
        f"[d][r]libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:log_path={log}"
        f":n_subsample={subsample}"
    )
    run_ffmpeg(["-i", str(dist), "-i", str(ref), "-lavfi", graph, "-f", "null", "-"], ffmpeg)
    return float(json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"])


def score(
    ffmpeg: Path, src: Path, renditions: list[Rendition], work: Path, opts: QualityOptions = FULL
) -> list[QualityScore]:
    return score_renditions(
        FFmpegRunner(ffmpeg), str(src), probe(src), renditions, work, timeout=120, options=opts
    )


def test_scores_match_libvmaf_called_directly(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    src = clips(duration=2.0, width=320, height=240, fps=25, audio=False)
    low = encode(src, tmp_path / "low.mp4", ffmpeg_bin, vf="scale=160:120", rate="crf=30")
    [got] = score(ffmpeg_bin, src, [Rendition(low, 160, 120)], tmp_path / "q")
    expected = direct_vmaf(ffmpeg_bin, low, src, "320:240", tmp_path / "direct.json")
    assert got.model == "vmaf_v0.6.1"
    assert got.subsample == 1
    assert got.frames == 50
    assert abs(got.vmaf.mean - expected) <= 0.1
    assert got.vmaf.min <= got.vmaf.p1 <= got.vmaf.harmonic_mean <= got.vmaf.mean
    assert 15 < got.psnr_mean < 60
    assert 0.5 < got.ssim_mean < 1.0
    assert len(got.series) == 50
    assert min(got.series) == pytest.approx(got.vmaf.min, abs=0.01)


def test_a_lower_bitrate_scores_lower_in_the_same_run(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    src = clips(duration=2.0, width=320, height=240, fps=25, audio=False)
    good = encode(src, tmp_path / "good.mp4", ffmpeg_bin, vf="null", rate="b=600k")
    bad = encode(src, tmp_path / "bad.mp4", ffmpeg_bin, vf="null", rate="b=40k")
    hi, lo = score(
        ffmpeg_bin, src, [Rendition(good, 320, 240), Rendition(bad, 320, 240)], tmp_path / "q"
    )
    assert hi.vmaf.mean > lo.vmaf.mean + 10
    assert hi.psnr_mean > lo.psnr_mean
    assert hi.ssim_mean > lo.ssim_mean


def test_frame_rate_mismatch_is_aligned_in_time_not_by_frame_number(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    src = clips(duration=2.0, width=320, height=240, fps=30, audio=False)
    r25 = encode(src, tmp_path / "r25.mp4", ffmpeg_bin, vf="fps=25", rate="crf=16")
    [got] = score(ffmpeg_bin, src, [Rendition(r25, 320, 240, fps=25)], tmp_path / "q")
    assert got.frames == 50  # compared at the rendition's rate, not the source's 60 frames
    assert got.vmaf.mean > 85
    # Frame n of the rendition against frame n of the source (timestamps replaced by frame
    # numbers, as a pipe of raw frames does): the picture drifts and the score collapses.
    naive = direct_vmaf(
        ffmpeg_bin, r25, src, "320:240", tmp_path / "naive.json", pre="setpts=N/(25*TB),"
    )
    assert naive < got.vmaf.mean - 20


def test_rotated_source_is_compared_upright_at_its_display_size(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    src = clips(duration=1.0, width=320, height=240, fps=25, rotation=90, audio=False)
    info = probe(src)
    assert (info.primary_video.display_width, info.primary_video.display_height) == (240, 320)
    # Autorotated (as reelflow's transcodes are): an upright 120x160 picture.
    upright = encode(src, tmp_path / "upright.mp4", ffmpeg_bin, vf="scale=120:160")
    [got] = score(ffmpeg_bin, src, [Rendition(upright, 120, 160)], tmp_path / "q")
    assert got.vmaf.mean > 60
    command = build_quality_command(str(src), info, [Rendition(upright, 120, 160)], tmp_path)
    assert "scale=240:320:flags=bicubic" in command.args[command.args.index("-filter_complex") + 1]


def test_odd_sizes(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    src = clips(".mkv", duration=1.0, width=321, height=241, fps=25, vcodec="ffv1", audio=False)
    odd = tmp_path / "odd.mkv"
    run_ffmpeg(["-i", str(src), "-vf", "scale=161:121", "-c:v", "ffv1", str(odd)], ffmpeg_bin)
    [got] = score(ffmpeg_bin, src, [Rendition(odd, 161, 121)], tmp_path / "q")
    assert got.frames == 25
    assert 20 < got.vmaf.mean < 100


def test_time_range_of_a_clipped_rendition(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    src = clips(duration=3.0, width=320, height=240, fps=25, audio=False)
    part = tmp_path / "part.mp4"
    run_ffmpeg(
        ["-i", str(src), "-vf", "trim=start=1:end=2,setpts=PTS-STARTPTS", "-c:v", "libx264",
         "-crf", "16", str(part)],
        ffmpeg_bin,
    )  # fmt: skip
    [right, wrong] = score(
        ffmpeg_bin,
        src,
        [Rendition(part, 320, 240, start=1.0, end=2.0), Rendition(part, 320, 240)],
        tmp_path / "q",
    )
    assert right.frames == 25
    assert right.vmaf.mean > 85
    assert wrong.vmaf.mean < right.vmaf.mean - 20  # the same frames against 0-1 s


def test_4k_model_for_2160p(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    src = clips(duration=0.2, width=3840, height=2160, fps=5, audio=False)
    [got] = score(ffmpeg_bin, src, [Rendition(src, 3840, 2160)], tmp_path / "q")
    assert got.model == "vmaf_4k_v0.6.1"
    assert got.vmaf.mean > 95  # the source against itself


def test_subsampling_scores_every_nth_frame(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    src = clips(duration=2.0, width=320, height=240, fps=25, audio=False)
    low = encode(src, tmp_path / "low.mp4", ffmpeg_bin, vf="scale=160:120", rate="crf=28")
    [full] = score(ffmpeg_bin, src, [Rendition(low, 160, 120)], tmp_path / "f")
    [sub] = score(
        ffmpeg_bin, src, [Rendition(low, 160, 120)], tmp_path / "s", QualityOptions(subsample=5)
    )
    assert (full.frames, sub.frames) == (50, 10)
    assert sub.subsample == 5
    assert abs(sub.vmaf.mean - full.vmaf.mean) < 2.0
    # Only the frames around each scored one reach libvmaf, with the same scores as when
    # libvmaf is handed every frame and told to score every 5th:
    direct = direct_vmaf(ffmpeg_bin, low, src, "320:240", tmp_path / "d.json", subsample=5)
    assert sub.vmaf.mean == pytest.approx(direct, abs=0.01)


@pytest.mark.parametrize("subsample", [1, 4])
def test_scoring_inside_the_encode_equals_scoring_the_written_files(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path, subsample: int
) -> None:
    # A 30 fps source, two renditions made by one command (25 fps at half size; a 1-2.5 s
    # clip at full size), scored in the encode's own process (loopback decoders) and then
    # from the files it wrote: the same frames, the same scores.
    src = clips(duration=3.0, width=320, height=240, fps=30, audio=False)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-threads", "1"]
    encode_args = [
        "-y", "-i", str(src), "-filter_complex",
        "[0:v:0]split[a][b];[a]fps=25,scale=160:120[va];"
        "[b]trim=start=1:end=2.5,setpts=PTS-STARTPTS[vb]",
        "-map", "[va]", *x264, "-b:v", "60k", str(a),
        "-map", "[vb]", *x264, "-crf", "30", str(b),
    ]  # fmt: skip
    renditions = [Rendition(a, 160, 120, fps=25), Rendition(b, 320, 240, start=1.0, end=2.5)]
    opts = QualityOptions(subsample=subsample)
    info = probe(src)
    runner = FFmpegRunner(ffmpeg_bin)
    command = loopback_scoring(encode_args, info, renditions, [(0, 0), (1, 0)], tmp_path / "in",
                               opts)  # fmt: skip
    (tmp_path / "in").mkdir()
    runner.run(command.args, timeout=120)
    inside = read_scores(command)
    after = score(ffmpeg_bin, src, renditions, tmp_path / "after", opts)
    assert [s.frames for s in inside] == [s.frames for s in after]
    assert inside[0].frames == -(-75 // subsample)  # 3 s at 25 fps
    assert inside[1].frames == -(-45 // subsample)  # 1.5 s at 30 fps
    for got, want in zip(inside, after, strict=True):
        assert got.vmaf == want.vmaf
        assert got.psnr_mean == want.psnr_mean
        assert got.ssim_mean == want.ssim_mean
    assert inside[0].vmaf.mean < inside[1].vmaf.mean - 5  # upscaled from half size
