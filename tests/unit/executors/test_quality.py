"""Where a rendition's worst-moment pictures are stored, and which scores are scored again
(executors.quality)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reelflow.errors import FFmpegFailed
from reelflow.executors import quality as executor_quality
from reelflow.executors.quality import ScoringPlan, picture_keys, refine_scores
from reelflow.media.quality import QualityCommand, Rendition
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.quality import QualityScore, VmafScores


def test_pictures_go_next_to_the_rendition_or_the_ladder_s_master() -> None:
    assert picture_keys("out/a_720.mp4") == ("out/a_720.worst.jpg", "out/a_720.worst-source.jpg")
    assert picture_keys("out/a_hls.m3u8")[0] == "out/a_hls.worst.jpg"
    assert picture_keys("noext")[1] == "noext.worst-source.jpg"
    rung = VideoRendition(stream_info=1, codec="h264", width=640, height=360, bitrate=800)
    # A ladder's master is named without its extension (the packager adds m3u8 or mpd).
    assert picture_keys("out/a_ladder", rung) == (
        "out/a_ladder.rung1.worst.jpg",
        "out/a_ladder.rung1.worst-source.jpg",
    )


def _score(subsample: int, std_err: float, mean: float = 90.0) -> QualityScore:
    vmaf = VmafScores(mean=mean, harmonic_mean=mean, min=60.0, p1=61.0, std_err=std_err)
    return QualityScore(model="vmaf_v0.6.1", subsample=subsample, frames=50, vmaf=vmaf,
                        psnr_mean=40.0, ssim_mean=0.98)  # fmt: skip


def _refine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail: bool = False) -> tuple[
    list[tuple[list[str], int]], list[QualityScore], list[QualityScore]
]:  # fmt: skip
    calls: list[tuple[list[str], int]] = []

    def score_again(runner: object, src: str, info: object, renditions: list[Rendition],
                    work_dir: Path, **kwargs: Any) -> list[QualityScore]:  # fmt: skip
        options = kwargs["options"]
        calls.append(([r.path.name for r in renditions], options.subsample))
        if fail:
            raise FFmpegFailed("refused")
        return [_score(options.subsample, 0.0, mean=77.0) for _ in renditions]

    monkeypatch.setattr(executor_quality, "score_renditions", score_again)
    items = [(0, Rendition(Path("a.mp4"), 640, 360), None),
             (1, Rendition(Path("b.mp4"), 1280, 720), None)]  # fmt: skip
    plan = ScoringPlan(command=QualityCommand([], [], 0.0), items=items, folder=tmp_path)
    job = SimpleNamespace(job_id="j1", media_info=object())
    first = [_score(10, 1.0), _score(10, 0.1)]  # +/- 1.96 VMAF, +/- 0.2
    got = refine_scores(None, job, "src.mp4", plan, first, timeout=60,  # type: ignore[arg-type]
                        cancel=threading.Event())  # fmt: skip
    return calls, first, got


def test_a_score_not_trusted_is_scored_again_on_every_frame_and_a_trusted_one_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls, first, got = _refine(monkeypatch, tmp_path)
    assert calls == [(["a.mp4"], 1)]  # only the wide one, every frame
    assert got[0].subsample == 1 and got[0].vmaf.mean == 77.0
    assert got[1] is first[1]


def test_a_refinement_that_fails_leaves_the_first_score(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls, first, got = _refine(monkeypatch, tmp_path, fail=True)
    assert calls == [(["a.mp4"], 1)]
    assert got == first
