"""Per-title analysis with the real FFmpeg on generated clips of different difficulty
(reelflow.media.pertitle measures, reelflow.planner.pertitle decides)."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from reelflow.media.pertitle import ProbeOptions, measure_points
from reelflow.media.probe import probe
from reelflow.media.quality import QualityOptions
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.pertitle import choose_rungs, upper_hull
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.pertitle import RatePoint, RungChoice
from reelflow.specs.units import VideoCodec
from tests.clips import run_ffmpeg

pytestmark = pytest.mark.integration

SIZE = "320x180"
SECONDS = 4
# Near-static shapes and text; a moving test pattern; fresh noise in every frame.
SOURCES = {
    "easy": f"color=c=0x336699:size={SIZE}:rate=25:duration={SECONDS},"
    "drawbox=x=40:y=30:w=120:h=60:color=yellow:t=fill,"
    "drawbox=x='180+t*4':y=100:w=60:h=40:color=white:t=fill,"
    "drawtext=text='Quarterly results':x=20:y=140:fontsize=18:fontcolor=white",
    "moving": f"testsrc2=size={SIZE}:rate=25:duration={SECONDS}",
    "noise": f"testsrc2=size={SIZE}:rate=25:duration={SECONDS},noise=alls=40:allf=t+u",
}
# A 3-rung fixed ladder of the source's sizes (smallest first, as select_rungs returns).
FIXED = [
    VideoRendition(stream_info=0, codec=VideoCodec.H264, width=160, height=90, bitrate=100),
    VideoRendition(stream_info=1, codec=VideoCodec.H264, width=240, height=136, bitrate=200),
    VideoRendition(stream_info=2, codec=VideoCodec.H264, width=320, height=180, bitrate=400),
]
OPTIONS = ProbeOptions(
    scenes=2, scene_seconds=1.0, crfs=(18, 26, 34, 42), preset="veryfast", threads=1,
    quality=QualityOptions(subsample=2, threads=1),
)  # fmt: skip


def make(kind: str, folder: Path, ffmpeg: Path) -> Path:
    path = folder / f"{kind}.mp4"
    if not path.exists():
        run_ffmpeg(
            ["-f", "lavfi", "-i", SOURCES[kind], "-c:v", "libx264", "-preset", "veryfast",
             "-crf", "12", "-pix_fmt", "yuv420p", "-threads", "1", str(path)],
            ffmpeg,
        )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def analysed(
    tmp_path_factory: pytest.TempPathFactory, ffmpeg_bin: Path
) -> dict[str, tuple[list[RatePoint], list[RungChoice]]]:
    folder = tmp_path_factory.mktemp("pertitle")
    out = {}
    for kind in SOURCES:
        src = make(kind, folder, ffmpeg_bin)
        points = measure_points(
            FFmpegRunner(ffmpeg_bin), str(src), probe(src),
            [(r.width, r.height) for r in FIXED], folder / kind, timeout=120, options=OPTIONS,
        )  # fmt: skip
        out[kind] = (points, choose_rungs(points, FIXED, target_vmaf=93))
    return out


def test_every_size_and_crf_is_probed_and_scored(
    analysed: dict[str, tuple[list[RatePoint], list[RungChoice]]],
) -> None:
    for points, _ in analysed.values():
        assert len(points) == len(FIXED) * len(OPTIONS.crfs)
        for size in {p.size for p in points}:
            by_crf = sorted((p for p in points if p.size == size), key=lambda p: p.crf)
            # a higher CRF costs fewer bits and scores lower
            assert [p.kbps for p in by_crf] == sorted((p.kbps for p in by_crf), reverse=True)
            assert by_crf[0].vmaf > by_crf[-1].vmaf


def test_the_hull_rises_in_bitrate_and_quality(
    analysed: dict[str, tuple[list[RatePoint], list[RungChoice]]],
) -> None:
    for points, _ in analysed.values():
        hull = upper_hull(points)
        assert len(hull) >= 2
        assert all(a.kbps < b.kbps and a.vmaf < b.vmaf for a, b in pairwise(hull))
        best = max(points, key=lambda p: p.vmaf)
        assert hull[-1] == best


def test_easy_content_gets_a_cheaper_ladder_than_hard_content(
    analysed: dict[str, tuple[list[RatePoint], list[RungChoice]]],
) -> None:
    easy, moving, noise = (analysed[k][1] for k in ("easy", "moving", "noise"))
    for e, m, n in zip(easy, moving, noise, strict=True):
        assert e.kbps < m.kbps < n.kbps
    # the easy title's top rung reaches the target under the fixed ladder's bitrate...
    assert easy[-1].predicted_vmaf >= 92.5
    assert easy[-1].kbps < FIXED[-1].bitrate
    assert easy[-1].saved_kbps > 0
    # ...the noisy one needs more than the fixed ladder gives it
    assert noise[-1].kbps > FIXED[-1].bitrate
    for choices in (easy, moving, noise):
        assert [c.stream_info for c in choices] == [0, 1, 2]
        assert [c.kbps for c in choices] == sorted(c.kbps for c in choices)
        pixels = [c.width * c.height for c in choices]
        assert pixels == sorted(pixels)


def test_the_one_process_analysis_measures_what_the_three_runs_measure(
    tmp_path: Path, ffmpeg_bin: Path
) -> None:
    src = make("noise", tmp_path, ffmpeg_bin)
    runner, info = FFmpegRunner(ffmpeg_bin), probe(src)
    sizes = [(r.width, r.height) for r in FIXED[1:]]
    found = {
        fused: measure_points(
            runner,
            str(src),
            info,
            sizes,
            tmp_path / str(fused),
            timeout=120,
            options=replace(OPTIONS, crfs=(20, 32), fused=fused),
        )
        for fused in (True, False)
    }
    assert [(p.size, p.crf) for p in found[True]] == [(p.size, p.crf) for p in found[False]]
    assert len(found[True]) == 4
    for one, three in zip(found[True], found[False], strict=True):
        assert one.kbps == pytest.approx(three.kbps, rel=0.01)
        assert one.vmaf == pytest.approx(three.vmaf, abs=0.1)
    # nothing but the probes and the scorers' logs is written: no lossless sample
    assert not list((tmp_path / "True").glob("*.mkv"))
    assert list((tmp_path / "False").glob("*.mkv"))
