"""``build_process``'s reuse of the command's own probe: only for the probe job of the same,
unchanged file; every other job goes to the real runner."""

from __future__ import annotations

import os
from pathlib import Path

from reelflow.executors.base import JobContext
from reelflow.specs.jobs import JobKind, JobPayload, JobResult
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskSource
from reelflow.wiring.process import KnownProbe, ProbedOnce, file_stamp

INFO = MediaInfo(container="mov", duration=1.0, size=3, bitrate=24, video=(), audio=())


def job(kind: JobKind, path: Path) -> JobPayload:
    source = TaskSource(type="file", path=str(path))
    return JobPayload(job_id=f"j-{kind.value}", task_id="t-1", kind=kind, source=source)


def known(path: Path) -> KnownProbe:
    stamp = file_stamp(str(path))
    assert stamp is not None
    return KnownProbe(str(path), stamp, INFO)


def test_file_stamp_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert file_stamp(str(tmp_path / "missing.mp4")) is None


def test_answers_only_the_probe_of_the_same_unchanged_file(tmp_path: Path) -> None:
    source, other = tmp_path / "a.mp4", tmp_path / "b.mp4"
    source.write_bytes(b"abc")
    other.write_bytes(b"abc")
    probe = known(source)
    assert probe.answers(job(JobKind.PROBE, source))
    assert not probe.answers(job(JobKind.MEDIA, source))
    assert not probe.answers(job(JobKind.PROBE, other))
    url = JobPayload(
        job_id="j-url",
        task_id="t-1",
        kind=JobKind.PROBE,
        source=TaskSource(type="url", url="https://example.com/a.mp4"),
    )
    assert not probe.answers(url)


def test_a_changed_or_replaced_file_is_probed_again(tmp_path: Path) -> None:
    source = tmp_path / "a.mp4"
    source.write_bytes(b"abc")
    probe = known(source)
    source.write_bytes(b"abcd")
    assert not probe.answers(job(JobKind.PROBE, source))
    probe = known(source)
    replacement = tmp_path / "new.mp4"
    replacement.write_bytes(b"abcd")
    os.replace(replacement, source)
    assert not probe.answers(job(JobKind.PROBE, source))
    source.unlink()
    assert not probe.answers(job(JobKind.PROBE, source))


def test_the_runner_answers_the_known_probe_and_passes_the_rest_on(tmp_path: Path) -> None:
    source = tmp_path / "a.mp4"
    source.write_bytes(b"abc")
    ran: list[str] = []

    def runner(payload: JobPayload, ctx: JobContext) -> JobResult:
        ran.append(payload.job_id)
        return JobResult(job_id=payload.job_id, ok=False, error_code="Ran")

    probed = ProbedOnce(runner, known(source))
    ctx = JobContext(lambda _: None, None)
    assert probed(job(JobKind.PROBE, source), ctx) == JobResult(
        job_id="j-probe", ok=True, media_info=INFO
    )
    assert probed(job(JobKind.MEDIA, source), ctx).error_code == "Ran"
    assert ran == ["j-media"]
