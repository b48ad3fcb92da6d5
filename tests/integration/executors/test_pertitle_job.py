"""A per-title ladder in a job, with real FFmpeg on generated clips of different difficulty:
the job analyses the source before its encode, the chosen rungs replace the template's
sizes and bitrates, every rung is scored on the full output and reported beside its
prediction and the fixed ladder's bitrate, and a rung that misses its target by more than
1 VMAF is re-encoded once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from reelflow.executors import pertitle
from reelflow.executors.base import JobContext
from reelflow.executors.jobs import JobRuntime
from reelflow.media.pertitle import ProbeOptions
from reelflow.media.probe import probe
from reelflow.media.quality import QualityOptions
from reelflow.media.runner import FFmpegRunner, RunResult
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.ladders import LadderTemplate, VideoRendition
from reelflow.specs.outputs import AdaptiveStreamingResult
from reelflow.specs.pertitle import RatePoint, RungChoice
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.templates import TemplateKind
from reelflow.specs.units import VideoCodec
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from tests.integration.media.test_pertitle import make

pytestmark = pytest.mark.integration

LADDER = 1_000_001
# Clips whose VMAF is smooth in CRF: every rung lands within 1 VMAF of its target.
SMOOTH = ("moving", "noise")
FIXED_KBPS = (200, 400)  # 128p and 180p of the 320x180 clips


def template(**extra: Any) -> LadderTemplate:
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": v, "fps": 25}, "remove_audio": 1}
        for h, v in zip((128, 180), FIXED_KBPS, strict=True)
    ]
    return LadderTemplate.model_validate(
        {"format": "HLS", "segment_seconds": 2, "stream_infos": infos, "ladder": "auto", **extra}
    )


class CountingRunner(FFmpegRunner):
    def __init__(self, ffmpeg: Path) -> None:
        super().__init__(ffmpeg)
        self.runs: list[list[str]] = []

    def run(self, args: Sequence[str], **kwargs: Any) -> RunResult:
        self.runs.append(list(args))
        return super().run(args, **kwargs)


def run_ladder(
    tmp_path: Path, ffmpeg_bin: Path, clip: Path, ladder: LadderTemplate
) -> tuple[AdaptiveStreamingResult, CountingRunner]:
    bucket = MemoryStorage("out")
    bucket.put_bytes("in/a.mp4", clip.read_bytes())
    custom = MemoryLookup()
    custom.add(TemplateKind.ADAPTIVE, LADDER, ladder)
    request = TaskRequest.model_validate(
        {"source": {"type": "bucket", "bucket": "out", "key": "in/a.mp4"},
         "media_process_task": {"adaptive_dynamic_streaming_task_set": [{"definition": LADDER}]}}
    )  # fmt: skip
    specs = resolve_request(request, ChainLookup(PresetLookup(), custom))
    info = probe(clip)
    [planned] = DefaultPlanner().plan(specs, info, "a.mp4").jobs
    job = JobPayload(
        job_id="j-1",
        task_id="t-1",
        kind=JobKind.MEDIA,
        source=TaskSource(type="bucket", bucket="out", key="in/a.mp4"),
        media_info=info,
        works=planned.works,
        video_preset="veryfast",
        ffmpeg_threads=1,
        timeout=300,
    )
    runtime = JobRuntime(ffmpeg_bin, StorageRegistry([bucket]), tmp_path / "scratch")
    runtime.runner = runner = CountingRunner(ffmpeg_bin)
    result = runtime(job, JobContext(lambda _: None, threading.Event()))
    assert result.ok, result
    [outcome] = result.subtasks
    assert outcome.ok, outcome
    assert isinstance(outcome.output, AdaptiveStreamingResult)
    assert outcome.output.check.passed
    return outcome.output, runner


def encodes(runner: CountingRunner) -> int:
    """The ladder encodes the job ran (HLS muxer outputs)."""
    return sum(1 for args in runner.runs if "hls" in args and "-var_stream_map" in args)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pertitle-job")


def test_easy_clip_gets_a_cheaper_ladder_noisy_clip_a_richer_one_each_rung_on_target(
    tmp_path: Path, ffmpeg_bin: Path, folder: Path
) -> None:
    totals = {}
    for kind in ("easy", "noise", "moving"):
        result, _ = run_ladder(
            tmp_path / kind, ffmpeg_bin, make(kind, folder, ffmpeg_bin), template()
        )
        rungs = sorted(result.quality, key=lambda r: r.stream_info)
        kept_off = other_off = 0.0
        assert [r.stream_info for r in rungs] == [0, 1]
        for rung in rungs:
            chosen = rung.per_title
            assert chosen is not None
            off = abs(rung.score.vmaf.mean - chosen.target_vmaf)
            if kind in SMOOTH:
                # Achieved on the full output (after at most one re-encode) within 1 VMAF
                # of what the rung aimed at.
                assert off <= 1.0, (kind, rung)
            elif off > 1.0:
                # Near-static content: VMAF jumps by up to 3 between neighbouring CRFs
                # (docs/quality.md): a miss was re-encoded once (the whole ladder) and
                # the encode whose missed rungs land nearer their targets kept.
                tries = [chosen.first_vmaf, chosen.discarded_vmaf]
                assert any(t is not None for t in tries), (kind, rung)
            tried = chosen.first_vmaf if chosen.reencoded else chosen.discarded_vmaf
            if tried is not None:
                kept_off += off
                other_off += abs(tried - chosen.target_vmaf)
            # The fixed ladder's rate reported beside it.
            assert chosen.fixed_bitrate == FIXED_KBPS[rung.stream_info]
            shown = rung.to_json()["PerTitle"]
            assert shown["AchievedVmaf"] == rung.score.vmaf.mean
            assert shown["SavedBitrate"] == chosen.fixed_bitrate - rung.bitrate
        assert kept_off <= other_off, kind
        top = rungs[-1]
        assert top.per_title is not None
        # The stored package's top rendition is encoded at the chosen rate, not the fixed.
        video = sorted(
            (r for r in result.renditions if r.kind == "video"), key=lambda r: r.average_bitrate
        )
        assert video[-1].height == top.height
        totals[kind] = (sum(r.bitrate for r in rungs), top)
    easy_total, easy_top = totals["easy"]
    noise_total, noise_top = totals["noise"]
    assert totals["moving"][0] < noise_total
    assert easy_total < sum(FIXED_KBPS) and easy_top.bitrate < FIXED_KBPS[-1]
    # The easy clip reaches the target: its top rung aims at 93.
    assert easy_top.per_title is not None and easy_top.per_title.target_vmaf == 93.0
    assert noise_total > sum(FIXED_KBPS) and noise_top.bitrate > FIXED_KBPS[-1]


def test_a_rung_that_misses_its_target_is_re_encoded_once_and_then_meets_it(
    tmp_path: Path, ffmpeg_bin: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pertitle.choose_rungs
    wrong_kbps: list[int] = []

    def wrong(points: list[RatePoint], rungs: Any, target: float) -> list[RungChoice]:
        """A prediction that is off: the top rung is encoded 3 CRF steps (about a
        quarter fewer bits) above what reaches the target, still predicting the target.
        (A miss of 6 steps, about 8 VMAF, corrected to 1.2 off: the probes are 9 CRF apart
        and linear between them; docs/quality.md.)"""
        choices = real(points, rungs, target)
        top = choices[-1]
        wrong = RungChoice(top.stream_info, top.width, top.height, max(1, top.kbps * 3 // 4),
                           top.predicted_vmaf, top.fixed_kbps, crf=top.crf + 3)  # fmt: skip
        wrong_kbps.append(wrong.kbps)
        return [*choices[:-1], wrong]

    monkeypatch.setattr(pertitle, "choose_rungs", wrong)
    # The whole analysis (3 scenes), not the cut a 4 s title gets (one 1 s scene): the
    # margins below compare the stored file's measured rate with the nominal rates, and a
    # one-scene sample holds a keyframe per 25 frames where the title has one per 50
    # (2 s segments), so its nominal rates run over the measured ones (measured: the
    # re-encode 162 kbps for a wrong first encode of 150 nominal, still within 1 VMAF).
    monkeypatch.setattr(pertitle, "PROBE_SHARE", 0.0)
    clip = make("moving", folder, ffmpeg_bin)
    result, runner = run_ladder(tmp_path, ffmpeg_bin, clip, template())
    assert encodes(runner) == 2  # the job's command, then the missed rung once more
    again = [args for args in runner.runs if "hls" in args and "-var_stream_map" in args][-1]
    # only the rungs that missed, alone: the others keep their first encode and score
    redone = [
        r for r in result.quality
        if r.per_title is not None
        and (r.per_title.reencoded or r.per_title.discarded_vmaf is not None)
    ]  # fmt: skip
    assert again.count("libx264") == len(redone)
    assert "aac" not in again
    top = max(result.quality, key=lambda r: r.stream_info)
    chosen = top.per_title
    assert chosen is not None and chosen.reencoded
    assert chosen.first_vmaf is not None and chosen.first_vmaf < chosen.target_vmaf - 1
    assert abs(top.score.vmaf.mean - chosen.target_vmaf) <= 1.0
    assert top.to_json()["PerTitle"]["Reencoded"] is True
    # The stored top rendition is the re-encode: richer than the wrong first encode.
    assert top.bitrate > 1.15 * wrong_kbps[0]
    video = max((r for r in result.renditions if r.kind == "video"), key=lambda r: r.height)
    assert video.average_bitrate > 1000 * wrong_kbps[0] * 1.1


def test_a_fixed_ladder_is_not_analysed(tmp_path: Path, ffmpeg_bin: Path, folder: Path) -> None:
    clip = make("easy", folder, ffmpeg_bin)
    result, runner = run_ladder(tmp_path, ffmpeg_bin, clip, template(ladder="fixed"))
    assert len(runner.runs) == 1 and result.quality == []


def test_sizes_that_reach_the_target_at_the_last_crf_are_probed_further(
    tmp_path: Path, ffmpeg_bin: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pertitle, "PROBE_EXTEND_CRFS", (45, 51))
    clip = make("easy", folder, ffmpeg_bin)
    info = probe(clip)
    rungs = [
        VideoRendition(stream_info=0, codec=VideoCodec.H264, width=w, height=h, bitrate=k)
        for w, h, k in ((240, 136, 200), (320, 180, 400))
    ]
    options = ProbeOptions(
        scenes=2, scene_seconds=1.0, crfs=(18, 27, 36), preset="veryfast", threads=1,
        quality=QualityOptions(subsample=2, threads=1),
    )  # fmt: skip
    points = pertitle.probe_title(
        FFmpegRunner(ffmpeg_bin), str(clip), info, rungs, tmp_path, options, 75.0, timeout=120
    )
    first = [p for p in points if p.crf <= 36]
    assert {(p.size, p.crf) for p in first} == {
        (s, c) for s in ((240, 136), (320, 180)) for c in (18, 27, 36)
    }
    further = [p for p in points if p.crf > 36]
    # The near-static clip scores over 75 at CRF 36 (about 78-81 at these sizes): probed at
    # 45, cheaper and lower; only the sizes whose probe before still reached 75.
    assert any(p.crf == 45 for p in further)
    for p in further:
        before = max((q for q in points if q.size == p.size and q.crf < p.crf),
                     key=lambda q: q.crf)  # fmt: skip
        assert before.vmaf >= 75.0
        assert p.kbps < before.kbps and p.vmaf < before.vmaf
