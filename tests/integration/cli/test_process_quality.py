"""``reelflow process --quality``: a ``Quality`` object beside each rendition's ``Output``
in result.json (issue 18)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reelflow.cli.process import run_process
from reelflow.executors import chunks as executor_chunks
from reelflow.executors import quality as executor_quality
from tests.clips import ClipCache
from tests.integration.cli.test_process import results_by_type, run_cli

pytestmark = pytest.mark.integration

WORKFLOW = {
    # An MP4 and an HLS rendition (scored through its local playlist).
    "TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100220}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
}


def test_quality_beside_each_rendition_output(clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=2.0, width=640, height=360, fps=30)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps(WORKFLOW))
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out), "--json", "--quality")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    by_type = results_by_type(result)
    renditions = by_type["Transcode"]
    assert [r["Output"]["Path"].rsplit(".", 1)[1] for r in renditions] == ["mp4", "m3u8"]
    for item in renditions:
        assert item["Output"]["Path"]
        quality = item["Quality"]
        assert set(quality) == {"Model", "Subsample", "Frames", "Vmaf", "Psnr", "Ssim"}
        assert quality["Model"] == "vmaf_v0.6.1"
        assert quality["Subsample"] >= 1
        # 2 s at the templates' 25 fps: every Subsample-th of the 50 frames was scored.
        assert quality["Frames"] == -(-50 // quality["Subsample"])
        std_err = quality["Vmaf"]["StdErr"]
        if quality["Subsample"] == 1:
            assert std_err == 0  # every frame scored: the full mean itself
        else:
            assert 0 < std_err < 2
        assert 50 < quality["Vmaf"]["Mean"] <= 100
        assert quality["Vmaf"]["Min"] <= quality["Vmaf"]["P1"] <= quality["Vmaf"]["Mean"]
        assert quality["Psnr"]["Mean"] > 20
        assert 0.8 < quality["Ssim"]["Mean"] <= 1
    assert "Quality" not in by_type["SnapshotByTimeOffset"][0]


def test_no_quality_unless_asked(clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=1.0, width=320, height=240, fps=25)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"TranscodeTaskSet": [{"Definition": 100010}]}))
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    [item] = results_by_type(json.loads((out / "result.json").read_text()))["Transcode"]
    assert "Quality" not in item


def test_a_workflow_file_asks_for_quality(clips: ClipCache, tmp_path: Path) -> None:
    # A saved workflow's shape: its MediaProcessTask beside "quality", no --quality flag.
    source = clips(duration=1.0, width=320, height=240, fps=25)
    workflow = tmp_path / "wf.json"
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}]}
    workflow.write_text(json.dumps({"quality": True, "MediaProcessTask": mpt}))
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    [item] = results_by_type(json.loads((out / "result.json").read_text()))["Transcode"]
    assert item["Quality"]["Vmaf"]["Mean"] > 50
    # The worst moment's two pictures are beside the rendition.
    rendition = out / item["Output"]["Path"].lstrip("/")
    assert rendition.exists()
    for suffix in (".worst.jpg", ".worst-source.jpg"):
        picture = rendition.with_suffix(suffix)
        assert picture.read_bytes()[:3] == b"\xff\xd8\xff", picture


def test_the_worst_moment_s_pictures_come_from_the_scoring_run(
    clips: ClipCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scoring run captured the scored frames: no FFmpeg run seeks to the worst moment
    # afterwards, and only the two kept pictures are left of the captures.
    seeks: list[tuple[Any, ...]] = []
    kept: list[list[str]] = []
    captured: list[int] = []
    real = executor_quality.discard_captures

    def seek(*args: Any, **kwargs: Any) -> Any:
        seeks.append(args)
        raise AssertionError("the worst moment was drawn by seeking")

    def discard(captures: list[Any]) -> None:
        folders = {c.folder for c in captures if c is not None}
        kept.extend(sorted(p.name for p in f.parent.iterdir()) for f in folders)
        captured.extend(len(list(f.iterdir())) for f in folders)
        real(captures)

    monkeypatch.setattr(executor_quality, "extract_frames", seek)
    monkeypatch.setattr(executor_quality, "discard_captures", discard)
    monkeypatch.setenv("REELFLOW_VIDEO_PRESET", "ultrafast")
    source = clips(duration=1.0, width=320, height=240, fps=25)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"TranscodeTaskSet": [{"Definition": 100010}]}))
    out = tmp_path / "out"
    assert run_process(str(source), workflow, out, as_json=True, quality=True) == 0
    assert seeks == []
    [item] = results_by_type(json.loads((out / "result.json").read_text()))["Transcode"]
    assert item["Quality"]["Frames"] == 25  # every frame of 1 s scored, and captured
    [names] = kept
    assert {"frames", "worst0.jpg", "worst0-source.jpg"} <= set(names)
    assert captured == [2 * 25]  # the rendition's and the source's
    rendition = out / item["Output"]["Path"].lstrip("/")
    for suffix in (".worst.jpg", ".worst-source.jpg"):
        assert rendition.with_suffix(suffix).read_bytes()[:3] == b"\xff\xd8\xff"


def test_renditions_are_delivered_when_their_scoring_fails(
    clips: ClipCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scorers run in the encode's own FFmpeg process; a scorer FFmpeg refuses (here a
    # VMAF model it does not know) fails that process, and the job encodes once more
    # without scores: the rendition is delivered, without a Quality object.
    real = executor_quality.loopback_scoring
    runs: list[list[str]] = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        command = real(*args, **kwargs)
        bad = [a.replace("version=vmaf_v0.6.1", "version=no_such_model") for a in command.args]
        runs.append(bad)
        return replace(command, args=bad)

    monkeypatch.setattr(executor_quality, "loopback_scoring", broken)
    monkeypatch.setenv("REELFLOW_VIDEO_PRESET", "ultrafast")
    source = clips(duration=1.0, width=320, height=240, fps=25)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"TranscodeTaskSet": [{"Definition": 100010}]}))
    out = tmp_path / "out"
    assert run_process(str(source), workflow, out, as_json=True, quality=True) == 0
    assert runs  # the scorers were in the command
    result = json.loads((out / "result.json").read_text())
    assert result["Status"] == "FINISH"
    [item] = results_by_type(result)["Transcode"]
    assert item["ErrCode"] == 0
    assert (out / item["Output"]["Path"].lstrip("/")).stat().st_size > 1000
    assert "Quality" not in item


def test_a_chunked_rendition_has_its_quality_in_result_json(
    clips: ClipCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers and 1 s chunks: the 4 s rendition is chunked, and its join scores the
    # joined output against the source in a separate FFmpeg run (the spy sees it).
    real = executor_chunks.build_quality_command
    scored_files: list[Path] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        command = real(*args, **kwargs)
        scored_files.extend(r.path for r in args[2])
        return command

    monkeypatch.setattr(executor_chunks, "build_quality_command", spy)
    for name, value in {"WORKERS": "2", "CHUNK_SECONDS": "1", "FFMPEG_THREADS": "1"}.items():
        monkeypatch.setenv(f"REELFLOW_{name}", value)
    monkeypatch.setenv("REELFLOW_VIDEO_PRESET", "ultrafast")
    source = clips(duration=4.0, width=320, height=240, fps=25)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"TranscodeTaskSet": [{"Definition": 100010}]}))
    out = tmp_path / "out"
    assert run_process(str(source), workflow, out, as_json=True, quality=True) == 0
    assert len(scored_files) == 1  # the joined output, once
    [item] = results_by_type(json.loads((out / "result.json").read_text()))["Transcode"]
    quality = item["Quality"]
    assert set(quality) == {"Model", "Subsample", "Frames", "Vmaf", "Psnr", "Ssim"}
    assert 50 < quality["Vmaf"]["Mean"] <= 100
    rendition = out / item["Output"]["Path"].lstrip("/")
    for suffix in (".worst.jpg", ".worst-source.jpg"):
        assert rendition.with_suffix(suffix).read_bytes()[:3] == b"\xff\xd8\xff"
