"""The local executor: parallel jobs, exceptions turned into results, cancellation."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from reelflow.errors import FFmpegTimeout, InvalidMedia
from reelflow.executors.base import JobContext
from reelflow.executors.local import LocalExecutor
from reelflow.specs.jobs import JobEvent, JobEventType, JobKind, JobPayload, JobResult
from reelflow.specs.requests import TaskSource

WAIT = 10.0


def payload(job_id: str) -> JobPayload:
    return JobPayload(
        job_id=job_id,
        task_id="rf-1",
        kind=JobKind.MEDIA,
        source=TaskSource(type="file", path="/in/a.mp4"),
    )


class Events:
    """A thread-safe event sink that can wait for N final events."""

    def __init__(self) -> None:
        self.items: list[JobEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: JobEvent) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def finals(self, count: int) -> dict[str, JobResult]:
        def ready() -> bool:
            return sum(e.type is JobEventType.FINISHED for e in self.items) >= count

        with self._cond:
            assert self._cond.wait_for(ready, WAIT), f"fewer than {count} jobs finished"
            return {
                e.job_id: e.result
                for e in self.items
                if e.type is JobEventType.FINISHED and e.result is not None
            }


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_executor(events: Events) -> Iterator[list[LocalExecutor]]:
    made: list[LocalExecutor] = []
    yield made
    for executor in made:
        executor.close(wait=False)


def start(made: list[LocalExecutor], runner: object, slots: int, events: Events) -> LocalExecutor:
    executor = LocalExecutor(runner, slots=slots)  # type: ignore[arg-type]
    executor.start(events)
    made.append(executor)
    return executor


def test_runs_as_many_jobs_at_once_as_it_has_slots(
    make_executor: list[LocalExecutor], events: Events
) -> None:
    slots = 4
    together = threading.Barrier(slots, timeout=WAIT)  # breaks unless all 4 run at once
    threads: set[str] = set()

    def runner(job: JobPayload, ctx: JobContext) -> JobResult:
        threads.add(threading.current_thread().name)
        ctx.progress(50.0)
        together.wait()
        return JobResult(job_id=job.job_id, ok=True)

    executor = start(make_executor, runner, slots, events)
    assert executor.free_slots() == slots
    for i in range(slots):
        executor.submit(payload(str(i)))
    results = events.finals(slots)
    assert {job_id: r.ok for job_id, r in results.items()} == {str(i): True for i in range(4)}
    assert len(threads) == slots
    progress = [e for e in events.items if e.type is JobEventType.PROGRESS]
    assert sorted(e.job_id for e in progress) == ["0", "1", "2", "3"]
    assert {e.progress for e in progress} == {50.0}
    executor.close()
    assert executor.free_slots() == 0


def test_free_slots_counts_running_jobs(make_executor: list[LocalExecutor], events: Events) -> None:
    release = threading.Event()

    def runner(job: JobPayload, ctx: JobContext) -> JobResult:
        release.wait(WAIT)
        return JobResult(job_id=job.job_id, ok=True)

    executor = start(make_executor, runner, 3, events)
    executor.submit(payload("a"))
    executor.submit(payload("b"))
    assert executor.free_slots() == 1
    release.set()
    events.finals(2)
    assert executor.free_slots() == 3


def test_exceptions_become_failed_results(
    make_executor: list[LocalExecutor], events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    def runner(job: JobPayload, ctx: JobContext) -> JobResult:
        if job.job_id == "timeout":
            raise FFmpegTimeout("ffmpeg ran longer than 60 s")
        if job.job_id == "invalid":
            raise InvalidMedia("not a media file", code="InvalidInput.Truncated")
        if job.job_id == "bug":
            raise KeyError("width")
        return JobResult(job_id="whatever-the-runner-said", ok=True)

    executor = start(make_executor, runner, 2, events)
    with caplog.at_level(logging.ERROR, logger="reelflow.executors.local"):
        for job_id in ("timeout", "invalid", "bug", "ok"):
            executor.submit(payload(job_id))
        results = events.finals(4)

    assert results["timeout"].model_dump(include={"ok", "error_code", "retryable"}) == {
        "ok": False,
        "error_code": "FFmpegTimeout",
        "retryable": True,
    }
    assert (results["invalid"].error_code, results["invalid"].retryable) == (
        "InvalidInput.Truncated",
        False,
    )
    assert results["invalid"].message == "not a media file"
    bug = results["bug"]
    assert (bug.ok, bug.error_code, bug.retryable) == (False, "InternalError", False)
    assert "KeyError" in bug.message and "width" in bug.message
    assert results["ok"].ok and results["ok"].job_id == "ok"
    crash_logs = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crash_logs) == 1 and crash_logs[0].exc_info is not None


def test_cancel_sets_the_event_and_drops_the_result(
    make_executor: list[LocalExecutor], events: Events
) -> None:
    started = threading.Event()
    saw_cancel = threading.Event()

    def runner(job: JobPayload, ctx: JobContext) -> JobResult:
        if job.job_id == "slow":
            started.set()
            if ctx.cancel.wait(WAIT):
                saw_cancel.set()
        return JobResult(job_id=job.job_id, ok=True)

    executor = start(make_executor, runner, 2, events)
    executor.submit(payload("slow"))
    assert started.wait(WAIT)
    executor.cancel("slow")
    executor.cancel("unknown")  # ignored
    assert saw_cancel.wait(WAIT)
    executor.submit(payload("next"))
    assert list(events.finals(1)) == ["next"]  # "slow" reported nothing


def test_close_without_wait_cancels_running_jobs(
    make_executor: list[LocalExecutor], events: Events
) -> None:
    started = threading.Event()
    stopped = threading.Event()

    def runner(job: JobPayload, ctx: JobContext) -> JobResult:
        started.set()
        ctx.cancel.wait(WAIT)
        stopped.set()
        return JobResult(job_id=job.job_id, ok=True)

    executor = start(make_executor, runner, 1, events)
    executor.submit(payload("a"))
    assert started.wait(WAIT)
    executor.close(wait=False)
    assert stopped.wait(WAIT)
    with pytest.raises(RuntimeError, match="closed"):
        executor.submit(payload("b"))


def test_submit_before_start_is_an_error() -> None:
    executor = LocalExecutor(lambda job, ctx: JobResult(job_id=job.job_id, ok=True), slots=1)
    try:
        with pytest.raises(RuntimeError, match="start"):
            executor.submit(payload("a"))
    finally:
        executor.close()
