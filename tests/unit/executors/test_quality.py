"""Where a rendition's worst-moment pictures come from and are stored, and which scores are
scored again (executors.quality)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reelflow.errors import FFmpegFailed
from reelflow.executors import quality as executor_quality
from reelflow.executors.quality import ScoringPlan, picture_keys, refine_scores, score_works
from reelflow.media.quality import QualityCommand, Rendition, ScoreLogs
from reelflow.media.quality_pictures import Capture
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.quality import QualityScore, VmafScores, WorstFrame


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


def _worst(time: float) -> QualityScore:
    return _score(13, 0.1).model_copy(update={"worst": WorstFrame(time=time, vmaf=60.0)})


def test_the_worst_moment_comes_from_the_captured_frames_else_from_a_seek(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Two renditions scored on every 13th frame at 25 fps, their scored frames captured
    # (rendition 1 shares rendition 0's source frames). Rendition 0's worst frame (26) was
    # captured; rendition 1's (frame 14, found by a denser refinement) was not: it is drawn
    # by seeking, and the captures are gone afterwards.
    frames = tmp_path / "quality" / "frames"
    frames.mkdir(parents=True)
    shared = frames / "s0_%d.jpg"
    captures = [Capture(frames, frames / f"r{i}_%d.jpg", shared, 13) for i in range(2)]
    for capture in captures:
        for rank in range(3):
            for path in capture.files(rank):
                path.write_bytes(path.name.encode())
    logs = [ScoreLogs("vmaf_v0.6.1", 13, tmp_path / "v", tmp_path / "p", tmp_path / "s",
                      rate="25", capture=c) for c in captures]  # fmt: skip
    items = [(0, Rendition(Path("a.mp4"), 640, 360, 25.0), None),
             (1, Rendition(Path("b.mp4"), 1280, 720, 25.0, start=1.0), None)]  # fmt: skip
    plan = ScoringPlan(command=QualityCommand([], logs, 0.0), items=items,
                       folder=tmp_path / "quality")  # fmt: skip
    seeks: list[tuple[str, float]] = []

    def seek(runner: object, src: str, info: object, rendition: Rendition, time: float,
             out: tuple[Path, Path], **kwargs: Any) -> tuple[Path, Path]:  # fmt: skip
        seeks.append((rendition.path.name, time))
        for path in out:
            path.write_bytes(b"seek")
        return out

    monkeypatch.setattr(executor_quality, "read_scores", lambda command: [_worst(0.0)] * 2)
    monkeypatch.setattr(executor_quality, "refine_scores",
                        lambda *a, **k: [_worst(1.04), _worst(0.56)])  # fmt: skip
    monkeypatch.setattr(executor_quality, "extract_frames", seek)
    job = SimpleNamespace(job_id="j1", media_info=object())
    found = score_works(None, job, "src.mp4", plan, timeout=60,  # type: ignore[arg-type]
                        cancel=threading.Event())  # fmt: skip
    first, second = found[0][0], found[1][0]
    assert first.pictures is not None and second.pictures is not None
    assert [p.read_text() for p in first.pictures] == ["r0_2.jpg", "s0_2.jpg"]
    assert seeks == [("b.mp4", 0.56)]
    assert [p.read_bytes() for p in second.pictures] == [b"seek", b"seek"]
    assert not frames.exists()
    assert sorted(p.name for p in plan.folder.iterdir()) == [
        "worst0-source.jpg", "worst0.jpg", "worst1-source.jpg", "worst1.jpg",
    ]  # fmt: skip


def test_captures_are_deleted_when_no_score_can_be_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "r0_0.jpg").write_bytes(b"x")
    capture = Capture(frames, frames / "r0_%d.jpg", frames / "s0_%d.jpg", 13)
    logs = [ScoreLogs("vmaf_v0.6.1", 13, tmp_path / "v", tmp_path / "p", tmp_path / "s",
                      capture=capture)]  # fmt: skip
    items = [(0, Rendition(Path("a.mp4"), 640, 360), None)]
    plan = ScoringPlan(command=QualityCommand([], logs, 0.0), items=items, folder=tmp_path)
    job = SimpleNamespace(job_id="j1", media_info=object())
    # The logs do not exist: read_scores fails, the renditions go without scores.
    found = score_works(None, job, "src.mp4", plan, timeout=60,  # type: ignore[arg-type]
                        cancel=threading.Event())  # fmt: skip
    assert found == {} and not frames.exists()
