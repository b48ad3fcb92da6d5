"""An adaptive-streaming sub-task in a job, with real FFmpeg: encoded in the job's one FFmpeg
command beside the other sub-tasks (one decode), packaged in scratch, checked, stored in
commit order (segments first, the master playlist last), described with the
checker's verdict; and a package that breaks a rule fails with the rule's id."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import m3u8
import pytest

from reelflow.executors.base import JobContext
from reelflow.executors.jobs import JobRuntime
from reelflow.executors.ladders import check_error, check_package
from reelflow.media.ladder import package_ladder
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner, RunResult
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.outputs import AdaptiveStreamingResult, TranscodeResult
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.templates import TemplateKind
from reelflow.specs.works import LadderWork
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from tests.clips import ClipCache

pytestmark = pytest.mark.integration

LADDER = 1_000_001


def ladder_template(fmt: str = "HLS", **extra: Any) -> LadderTemplate:
    """Two rungs (128p, 180p of a 320x180 clip), 2 s segments: a custom template."""
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": v, "fps": 25},
         "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 44100}}
        for h, v in ((128, 200), (180, 400))
    ]  # fmt: skip
    return LadderTemplate.model_validate(
        {"format": fmt, "segment_seconds": 2, "stream_infos": infos, **extra}
    )


class RecordingStorage(MemoryStorage):
    """Objects that are not local files; remembers the order keys were written in."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.order: list[str] = []

    def put_stream(self, key: str, stream: BinaryIO, *args: Any, **kwargs: Any) -> Any:
        info = super().put_stream(key, stream, *args, **kwargs)
        self.order.append(key)
        return info


class CountingRunner(FFmpegRunner):
    """The real runner, remembering each command it ran."""

    def __init__(self, ffmpeg: Path) -> None:
        super().__init__(ffmpeg)
        self.runs: list[list[str]] = []

    def run(self, args: Sequence[str], **kwargs: Any) -> RunResult:
        self.runs.append(list(args))
        return super().run(args, **kwargs)


def run_task(
    tmp_path: Path, ffmpeg_bin: Path, clip: Path, sets: dict[str, Any], template: LadderTemplate
) -> tuple[RecordingStorage, list[Any]]:
    """One media job of a task of ``sets`` (``LADDER`` is ``template``) on ``clip``, stored
    as ``in/a.mp4``; returns the bucket and the job's outcomes' outputs (None if failed)."""
    bucket = RecordingStorage("out")
    bucket.put_bytes("in/a.mp4", clip.read_bytes())
    bucket.order.clear()
    custom = MemoryLookup()
    custom.add(TemplateKind.ADAPTIVE, LADDER, template)
    request = TaskRequest.model_validate(
        {"source": {"type": "bucket", "bucket": "out", "key": "in/a.mp4"},
         "media_process_task": sets}
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
        timeout=120,
    )
    runtime = JobRuntime(ffmpeg_bin, StorageRegistry([bucket]), tmp_path / "scratch")
    runtime.runner = runner = CountingRunner(ffmpeg_bin)
    result = runtime(job, JobContext(lambda _: None, threading.Event()))
    # One FFmpeg process for the job, reading the source once: one decode for every
    # sub-task, the ladder included.
    [args] = runner.runs
    assert args.count("-i") == 1
    assert result.ok, result
    for outcome in result.subtasks:
        assert outcome.ok, outcome
    return bucket, [outcome.output for outcome in sorted(result.subtasks, key=lambda o: o.index)]


def test_a_ladder_beside_a_transcode_is_stored_segments_first_master_last(
    tmp_path: Path, ffmpeg_bin: Path, clips: ClipCache
) -> None:
    clip = clips(duration=5.0, width=320, height=180)
    bucket, (rendition, package) = run_task(
        tmp_path,
        ffmpeg_bin,
        clip,
        {
            "transcode_task_set": [{"definition": 100010}],
            "adaptive_dynamic_streaming_task_set": [{"definition": LADDER}],
        },
        ladder_template(),
    )
    assert isinstance(rendition, TranscodeResult)
    assert isinstance(package, AdaptiveStreamingResult)
    master = "in/a_adaptiveDynamicStreaming_1000001.m3u8"
    assert (package.path, package.format, package.segment_type) == (master, "HLS", "ts-segment")
    assert package.check.passed and package.check.failed_rules == []
    assert package.check.manifests == [master]
    assert {r.height for r in package.renditions if r.kind == "video"} == {128, 180}

    written = [key for key in bucket.order if key != rendition.file.key]
    assert len(written) == package.file_count
    assert sum(bucket.stat(key).size for key in written) == package.size
    assert written[-1] == master
    last_segment = max(i for i, key in enumerate(written) if key.endswith(".ts"))
    first_playlist = min(i for i, key in enumerate(written) if key.endswith(".m3u8"))
    assert last_segment < first_playlist
    # Names by the naming rules: sub-streams and segments beside the master.
    assert all(
        re.fullmatch(r"in/a_adaptiveDynamicStreaming_1000001(_\d+(_\d+|_iframes|_init)?)?\.\w+", k)
        for k in written
    ), written

    playlist = m3u8.loads(bucket.read_bytes(master).decode())
    assert playlist.is_variant and len(playlist.playlists) == 2
    for variant in playlist.playlists:
        media = m3u8.loads(bucket.read_bytes("in/" + variant.uri).decode())
        assert media.segments and all(
            bucket.stat("in/" + segment.uri).size > 0 for segment in media.segments
        )


def test_a_broken_package_fails_its_check_with_the_rule_id(
    tmp_path: Path, ffmpeg_bin: Path, clips: ClipCache
) -> None:
    """A real package, then its master playlist declaring a far too low BANDWIDTH (as a
    muxer's nominal bitrate would): the checker's summary, and the sub-task's error."""
    clip = clips(duration=5.0, width=320, height=180)
    info = probe(clip)
    request = TaskRequest.model_validate(
        {"source": {"type": "bucket", "bucket": "out", "key": "in/a.mp4"},
         "media_process_task": {"adaptive_dynamic_streaming_task_set": [{"definition": LADDER}]}}
    )  # fmt: skip
    custom = MemoryLookup()
    custom.add(TemplateKind.ADAPTIVE, LADDER, ladder_template())
    specs = resolve_request(request, ChainLookup(PresetLookup(), custom))
    [work] = DefaultPlanner().plan(specs, info, "a.mp4").jobs[0].works
    assert isinstance(work, LadderWork)
    out = tmp_path / "package"
    package = package_ladder(
        FFmpegRunner(ffmpeg_bin),
        str(clip),
        info,
        work.ladder,
        out,
        names=work.names,
        video_preset="veryfast",
        timeout=120,
    )
    assert check_error(check_package(package, out)) is None

    master = out / package.master
    master.write_text(re.sub(r"(?<=[,:])BANDWIDTH=\d+", "BANDWIDTH=1000", master.read_text()))
    summary = check_package(package, out)

    assert not summary.passed
    assert summary.failed_rules == ["hls.master.bandwidth"]
    assert summary.failures[0].rule == "hls.master.bandwidth"
    error = check_error(summary)
    assert error is not None
    assert error.code == "FailedOperation.StreamCheck"
    assert "hls.master.bandwidth" in error.message
