"""The scheduler loop with real threads (local executor) and inline."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.db.session import session_factory
from reelflow.engine.events import Report
from reelflow.engine.ports import Reporter
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.errors import JobCancelled
from reelflow.executors.base import JobContext
from reelflow.executors.inline import InlineExecutor
from reelflow.executors.local import LocalExecutor
from reelflow.specs.jobs import JobEvent, JobEventType, JobKind, JobPayload, JobResult
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.fakes import (
    MEDIA_INFO,
    FakePlanner,
    ScriptedRunner,
    job_rows,
    make_request,
    work,
)

WAIT = 10.0  # seconds; generous for slow CI machines, never reached when things work


@pytest.fixture
def real_engine(db: DbEngine, planner: FakePlanner, settings: Settings) -> Engine:
    """An engine on the real clock (worker threads and leases need real time)."""
    return Engine(session_factory(db), planner, settings)


def finished(engine: Engine, *task_ids: str) -> bool:
    return all(engine.task_view(t).state.is_terminal for t in task_ids)


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_run_until_drives_tasks_to_the_end_with_worker_threads(
    real_engine: Engine, runner: ScriptedRunner, settings: Settings
) -> None:
    runner.failing = {1: ("FFmpegFailed", "boom")}
    ok = real_engine.submit(make_request(1))
    failed = real_engine.submit(make_request(2))
    executor = LocalExecutor(runner, slots=2)
    scheduler = Scheduler(real_engine, executor, settings, owner="cli")
    try:
        assert scheduler.run_until(lambda: finished(real_engine, ok, failed), timeout=WAIT)
    finally:
        scheduler.stop()
    assert real_engine.task_view(ok).state is TaskState.SUCCEEDED
    view = real_engine.task_view(failed)
    assert view.state is TaskState.FAILED
    assert [s.state for s in view.subtasks] == [SubTaskState.SUCCEEDED, SubTaskState.FAILED]
    assert len(runner.calls) == 4
    assert scheduler.running() == {}


def test_started_scheduler_runs_in_the_background(
    real_engine: Engine, runner: ScriptedRunner, settings: Settings
) -> None:
    scheduler = Scheduler(real_engine, LocalExecutor(runner, slots=3), settings)
    scheduler.start(poll=0.01)
    try:
        ids = [real_engine.submit(make_request(2)) for _ in range(4)]
        assert wait_for(lambda: finished(real_engine, *ids))
    finally:
        scheduler.stop()
    assert {real_engine.task_view(i).state for i in ids} == {TaskState.SUCCEEDED}
    assert len(runner.media_calls()) == 4


class BlockingRunner:
    """Media jobs wait until cancelled (like a long FFmpeg run killed on shutdown)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.kind is JobKind.PROBE:
            return JobResult(job_id=job.job_id, ok=True, media_info=MEDIA_INFO)
        self.started.set()
        if not ctx.cancel.wait(WAIT):
            raise AssertionError("never cancelled")
        self.cancelled.set()
        raise JobCancelled("stopped")


@pytest.fixture
def blocking_planner(planner: FakePlanner) -> Iterator[FakePlanner]:
    def plan(subtasks, media_info, source_name):  # type: ignore[no-untyped-def]
        from reelflow.planner.base import Plan, PlannedJob

        indices = tuple(s.index for s in subtasks)
        return Plan(jobs=(PlannedJob(subtasks=indices, works=(work(0),)),))

    planner.plan = plan  # type: ignore[method-assign]
    yield planner


def test_graceful_stop_kills_jobs_and_requeues_them_without_an_attempt(
    real_engine: Engine, settings: Settings, db: DbEngine, blocking_planner: FakePlanner
) -> None:
    runner = BlockingRunner()
    task_id = real_engine.submit(make_request(2))
    scheduler = Scheduler(real_engine, LocalExecutor(runner, slots=1), settings, owner="srv")
    scheduler.start(poll=0.01)
    try:
        assert runner.started.wait(WAIT)
    finally:
        scheduler.stop(graceful=True)
    assert runner.cancelled.wait(WAIT)

    media = job_rows(db, task_id)[1]
    assert (media.state, media.attempt, media.max_attempts, media.lease_owner) == (
        JobState.QUEUED,
        1,
        settings.max_attempts + 1,
        None,
    )
    view = real_engine.task_view(task_id)
    assert view.state is TaskState.RUNNING
    assert [s.state for s in view.subtasks] == [SubTaskState.PENDING] * 2
    # The killed run's "cancelled" result was dropped, not recorded as a failure.
    assert media.err_code == ""


def test_cancelled_task_stops_its_running_job_via_heartbeat(
    db: DbEngine, blocking_planner: FakePlanner, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, lease_seconds=1.5)  # heartbeat every 0.5 s
    engine = Engine(session_factory(db), blocking_planner, settings)
    runner = BlockingRunner()
    task_id = engine.submit(make_request(1))
    scheduler = Scheduler(engine, LocalExecutor(runner, slots=1), settings)
    try:
        assert scheduler.run_until(runner.started.is_set, poll=0.01, timeout=WAIT)
        engine.cancel(task_id)
        assert scheduler.run_until(runner.cancelled.is_set, poll=0.05, timeout=WAIT)
        assert scheduler.run_until(lambda: not scheduler.running(), poll=0.01, timeout=WAIT)
    finally:
        scheduler.stop()
    view = engine.task_view(task_id)
    assert view.state is TaskState.CANCELLED
    assert view.subtasks[0].err_code == "Cancelled"


class HeldExecutor:
    """Keeps what it is given; the test reports the results, as a job thread would."""

    reports_to_engine: ClassVar[bool] = False

    def __init__(self) -> None:
        self.report: Reporter | None = None
        self.jobs: list[JobPayload] = []
        self.cancelled: list[str] = []

    def start(self, report: Reporter) -> None:
        self.report = report

    def submit(self, job: JobPayload) -> None:
        self.jobs.append(job)

    def free_slots(self) -> int:
        return 0 if self.jobs else 1

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    def close(self, *, wait: bool = True) -> None:
        pass

    def forget(self, job_id: str) -> None:
        pass


class RecordingThen(Engine):
    """Calls ``then`` once, after the next results are recorded and before ``finish_many``
    returns to the executor thread: where the loop's heartbeat may come in."""

    then: Callable[[], None] | None = None

    def finish_many(self, reports: Sequence[Report]) -> list[bool]:
        changed = super().finish_many(reports)
        then, self.then = self.then, None
        if then is not None:
            then()
        return changed


def test_a_heartbeat_while_a_result_is_recorded_does_not_take_the_job_for_lost(
    db: DbEngine, planner: FakePlanner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, lease_seconds=1.5)  # heartbeat every 0.5 s
    engine = RecordingThen(session_factory(db), planner, settings)
    executor = HeldExecutor()
    scheduler = Scheduler(engine, executor, settings, owner="t")
    engine.submit(make_request(1))
    assert scheduler.tick() == 1
    (probe,) = executor.jobs

    def beat() -> None:
        time.sleep(settings.lease_seconds / 3)  # the heartbeat is due
        scheduler.tick()

    engine.then = beat
    caplog.set_level(logging.WARNING)
    result = JobResult(job_id=probe.job_id, ok=True, media_info=MEDIA_INFO)
    assert executor.report is not None
    executor.report(JobEvent(job_id=probe.job_id, type=JobEventType.FINISHED, result=result))
    assert engine.then is None  # the loop did beat between the record and its end
    assert executor.cancelled == []
    assert [r.getMessage() for r in caplog.records] == []
    assert scheduler.running() == {}
    scheduler.stop()


def test_inline_executor_ticks_a_task_to_the_end(
    engine: Engine, runner: ScriptedRunner, settings: Settings
) -> None:
    task_id = engine.submit(make_request(2))
    executor = InlineExecutor(runner)
    scheduler = Scheduler(engine, executor, settings, owner="t")
    assert scheduler.tick() == 1  # the probe ran inside submit and planned the media job
    assert scheduler.tick() == 1
    assert scheduler.tick() == 0
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    assert [job.kind for job in executor.submitted] == [JobKind.PROBE, JobKind.MEDIA]
    scheduler.stop()
