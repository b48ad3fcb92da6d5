"""The worst moment's pictures with the real FFmpeg (reelflow.media.quality_pictures): the
frames captured by the scoring run are the ones a seek to the worst moment draws."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reelflow.media.probe import probe
from reelflow.media.quality import QualityOptions, Rendition, loopback_scoring, read_scores
from reelflow.media.quality_pictures import captured_frames, discard_captures, extract_frames
from reelflow.media.runner import FFmpegRunner
from tests.clips import ClipCache

pytestmark = pytest.mark.integration


def _gray(path: Path, ffmpeg: Path) -> bytes:
    """A picture's luma, decoded."""
    argv = [str(ffmpeg), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


def _distance(a: Path, b: Path, ffmpeg: Path) -> float:
    """Mean absolute luma difference of two pictures of one size (0: the same picture)."""
    x, y = _gray(a, ffmpeg), _gray(b, ffmpeg)
    assert len(x) == len(y) > 0
    return sum(abs(p - q) for p, q in zip(x, y, strict=True)) / len(x)


def test_the_captured_pictures_show_the_frame_the_score_calls_worst(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    # A half-size rendition encoded and scored in one process (as a transcode job does) on
    # every 4th frame; its frame 20 (0.8 s) is spoiled by a box: the worst scored frame.
    src = clips(duration=2.0, width=320, height=240, fps=25, audio=False)
    out = tmp_path / "a.mp4"
    encode_args = [
        "-y", "-i", str(src), "-filter_complex",
        "[0:v:0]scale=160:120,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill:enable='eq(n,20)'[v]",
        "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads", "1",
        str(out),
    ]  # fmt: skip
    info = probe(src)
    rendition = Rendition(out, 160, 120)
    frames, logs_dir = tmp_path / "frames", tmp_path / "q"
    frames.mkdir()
    logs_dir.mkdir()
    command = loopback_scoring(encode_args, info, [rendition], [(0, 0)], logs_dir,
                               QualityOptions(subsample=4), capture=frames)  # fmt: skip
    runner = FFmpegRunner(ffmpeg_bin)
    runner.run(command.args, timeout=120)
    [score] = read_scores(command)
    assert score.frames == 13
    assert score.worst is not None and score.worst.time == pytest.approx(0.8)
    # Each scored frame captured once, on both sides: frames 0, 4, ... 48.
    names = sorted(p.name for p in frames.iterdir())
    assert names == sorted(f"{side}0_{k}.jpg" for side in "rs" for k in range(13))
    logs = command.logs[0]
    pair = (tmp_path / "worst.jpg", tmp_path / "worst-source.jpg")
    got = captured_frames(logs.capture, logs.rate, score.worst.time, pair)
    assert got == pair
    discard_captures([logs.capture])
    assert not frames.exists()
    # The very pictures a seek to 0.8 s draws on both sides (at the source's size), and
    # not those of the frames next to it.
    assert len(_gray(got[0], ffmpeg_bin)) == len(_gray(got[1], ffmpeg_bin)) == 320 * 240

    def seek(time: float) -> tuple[Path, Path]:
        pictures = (tmp_path / f"r{time}.jpg", tmp_path / f"s{time}.jpg")
        return extract_frames(runner, str(src), info, rendition, time, pictures, timeout=60)

    at, before, after = seek(0.8), seek(0.76), seek(0.84)
    for side in (0, 1):
        same = _distance(got[side], at[side], ffmpeg_bin)
        assert same < 0.5, (side, same)
        for other in (before, after):
            assert _distance(got[side], other[side], ffmpeg_bin) > 2.0, side
    # The box is on the rendition's picture only.
    assert _distance(got[0], got[1], ffmpeg_bin) > _distance(before[0], before[1], ffmpeg_bin) + 5
