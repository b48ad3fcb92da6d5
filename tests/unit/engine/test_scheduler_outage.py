"""The scheduler and the local executor through a database outage longer than the lease:
the job that finished meanwhile is recorded once the database is back, not run again, and
the loop logs the outage twice (start, end) however many rounds failed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.db.outage import Outage
from reelflow.db.session import session_factory
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.errors import DatabaseUnavailable
from reelflow.executors.base import JobContext
from reelflow.executors.local import LocalExecutor
from reelflow.specs.jobs import JobKind, JobPayload, JobResult
from reelflow.specs.states import JobState, TaskState
from tests.unit.engine.fakes import FakePlanner, ScriptedRunner, job_rows, make_request

WAIT = 10.0
LEASE = 1.5


class Switchable:
    """The engine, except that every call raises ``DatabaseUnavailable`` while ``down``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.down = threading.Event()
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._engine, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down.is_set():
                self.refused += 1
                raise DatabaseUnavailable("the database is unreachable: connection refused")
            return attr(*args, **kwargs)

        return call


class GatedRunner(ScriptedRunner):
    """Media jobs run until ``release`` is set (the FFmpeg run the outage happens in)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.kind is JobKind.MEDIA:
            self.started.set()
            assert self.release.wait(WAIT)
        return super().__call__(job, ctx)


def wait_for(predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_result_finished_during_an_outage_is_recorded_after_it_without_a_rerun(
    db: DbEngine, planner: FakePlanner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, lease_seconds=LEASE)
    engine = Engine(session_factory(db), planner, settings)
    switch = Switchable(engine)
    runner = GatedRunner()
    task_id = engine.submit(make_request(1))
    executor = LocalExecutor(runner, slots=1)
    # The result's next try comes a while after the database is back, as it may: the
    # scheduler's sweep runs first, and must not take the job back meanwhile.
    executor._outage = Outage("report", logging.getLogger("t"), base=2.0, cap=2.0, rand=lambda: 1)
    scheduler = Scheduler(switch, executor, settings)  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING)
    scheduler.start(poll=0.01)
    try:
        assert runner.started.wait(WAIT)
        switch.down.set()
        runner.release.set()  # the job ends while the database is away
        # Well past the lease: no heartbeat could renew it.
        refused_before = switch.refused
        time.sleep(LEASE * 2)
        assert switch.refused > refused_before
        switch.down.clear()
        assert wait_for(lambda: engine.task_view(task_id).state.is_terminal)
    finally:
        scheduler.stop()
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    media = job_rows(db, task_id)[1]
    assert (media.state, media.attempt) == (JobState.SUCCEEDED, 1)
    assert len(runner.media_calls()) == 1
    scheduler_lines = [r.getMessage() for r in caplog.records if r.name.endswith("scheduler")]
    assert len(scheduler_lines) == 2, scheduler_lines
    assert "back after" in scheduler_lines[1]
    assert all(r.exc_info is None for r in caplog.records)


def test_stopping_during_an_outage_leaves_the_jobs_to_their_leases(
    db: DbEngine, planner: FakePlanner, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, lease_seconds=LEASE)
    engine = Engine(session_factory(db), planner, settings)
    switch = Switchable(engine)
    runner = GatedRunner()
    task_id = engine.submit(make_request(1))
    scheduler = Scheduler(switch, LocalExecutor(runner, slots=1), settings)  # type: ignore[arg-type]
    scheduler.start(poll=0.01)
    assert runner.started.wait(WAIT)
    switch.down.set()
    runner.release.set()
    scheduler.stop(graceful=True)  # no hand-back possible: no exception either
    media = job_rows(db, task_id)[1]
    assert (media.state, media.attempt) == (JobState.RUNNING, 1)  # its lease decides
