"""Cluster execution without a broker: ``CeleryExecutor`` over ``StubApp``, ``JobWorker``
over a real engine (SQLite), and the scheduler in between."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.db.outage import Outage
from reelflow.db.session import session_factory
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.errors import DatabaseUnavailable, ExecutorUnavailable
from reelflow.executors.base import JobContext
from reelflow.executors.celery import executor as executor_module
from reelflow.executors.celery.app import RUN_JOB, make_app, register_worker
from reelflow.executors.celery.executor import CeleryExecutor
from reelflow.executors.celery.stub import StubApp
from reelflow.executors.celery.worker import JobWorker, Outcome
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload, JobResult
from reelflow.specs.states import JobState, TaskState
from tests.unit.engine.fakes import (
    FakeClock,
    FakePlanner,
    ScriptedRunner,
    job_rows,
    make_request,
)

DISPATCH = 300.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        executor="celery",
        broker_url="memory://",
        lease_seconds=30,
        dispatch_timeout=DISPATCH,
        cluster_slots=2,
        job_timeout=600,
    )


@pytest.fixture
def engine(db: DbEngine, settings: Settings, clock: FakeClock) -> Engine:
    planner = FakePlanner()
    planner.split = True  # a cluster fans out: one media job per sub-task
    return Engine(session_factory(db), planner, settings, clock=clock)


@pytest.fixture
def app() -> StubApp:
    return StubApp()


@pytest.fixture
def scheduler(engine: Engine, settings: Settings, app: StubApp) -> Iterator[Scheduler]:
    executor = CeleryExecutor(app, queue=settings.celery_queue, slots=settings.cluster_slots)
    built = Scheduler(engine, executor, settings, owner="sched")
    yield built
    built.stop()


def make_worker(engine: Engine, runner: Any, name: str = "worker:a") -> JobWorker:
    return JobWorker(engine, runner, owner=name, lease_seconds=30)


# -- the Celery application ---------------------------------------------------------------


def test_the_app_acknowledges_late_prefetches_one_and_outlives_any_job(
    settings: Settings,
) -> None:
    app = make_app(settings)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > settings.job_timeout
    assert conf.task_default_queue == settings.celery_queue
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.accept_content == ["json"]
    seen: list[dict[str, Any]] = []
    register_worker(app, lambda payload: seen.append(payload) or Outcome.DONE)
    assert app.tasks[RUN_JOB].run({"job_id": "1"}) == "done"
    assert seen == [{"job_id": "1"}]


# -- the scheduler's side -----------------------------------------------------------------


def payload(job_id: str) -> JobPayload:
    source = {"type": "bucket", "bucket": "in", "key": "a.mp4"}
    return JobPayload.model_validate(
        {"job_id": job_id, "task_id": "t", "kind": "probe", "source": source}
    )


def test_the_executor_keeps_at_most_its_slots_in_flight(app: StubApp) -> None:
    executor = CeleryExecutor(app, queue="q", slots=2)
    executor.submit(payload("1"))
    executor.submit(payload("2"))
    assert executor.free_slots() == 0
    assert [(m.name, m.payload["job_id"], m.queue) for m in app.messages] == [
        (RUN_JOB, "1", "q"),
        (RUN_JOB, "2", "q"),
    ]
    executor.forget("1")
    assert executor.free_slots() == 1
    executor.cancel("2")  # nothing to send: the worker's heartbeat stops it
    executor.close()
    assert app.closed and executor.free_slots() == 0
    with pytest.raises(RuntimeError, match="closed"):
        executor.submit(payload("3"))


def test_an_unreachable_broker_pauses_sending(
    app: StubApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "PAUSE_START", 0.05)
    executor = CeleryExecutor(app, queue="q", slots=2)
    app.fail = OSError("connection refused")
    with pytest.raises(ExecutorUnavailable, match="unreachable") as caught:
        executor.submit(payload("1"))
    assert caught.value.retryable
    assert executor.free_slots() == 0  # paused
    app.fail = None
    threading.Event().wait(0.1)
    assert executor.free_slots() == 2
    executor.submit(payload("1"))
    assert executor.free_slots() == 1


def test_dispatched_jobs_run_on_workers_that_report_to_the_engine(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine, clock: FakeClock
) -> None:
    runner = ScriptedRunner()
    worker = make_worker(engine, runner)
    task_ids = [engine.submit(make_request(2)) for _ in range(3)]
    assert scheduler.tick() == 2  # two slots
    assert scheduler.tick() == 0
    first = job_rows(db, task_ids[0])[0]
    assert (first.lease_owner, first.state) == ("sched", JobState.RUNNING)
    assert first.lease_expires_at is not None
    assert (first.lease_expires_at - clock.now).total_seconds() == DISPATCH
    clock.advance(100)
    scheduler.tick()  # the scheduler never renews a dispatched job's lease
    assert job_rows(db, task_ids[0])[0].lease_expires_at == first.lease_expires_at
    for _ in range(20):
        if app.deliver(worker.run) == 0 and scheduler.tick() == 0:
            break
    views = [engine.task_view(task_id) for task_id in task_ids]
    assert [view.state for view in views] == [TaskState.SUCCEEDED] * 3
    rows = [row for task_id in task_ids for row in job_rows(db, task_id)]
    assert len(rows) == 9  # a probe and two media jobs each: fanned out
    assert {(row.state, row.attempt) for row in rows} == {(JobState.SUCCEEDED, 1)}
    assert len(runner.calls) == 9
    assert scheduler.running() == {}


def test_a_message_runs_once_whoever_receives_it(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine, clock: FakeClock
) -> None:
    runner = ScriptedRunner()
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    [message] = app.messages
    assert make_worker(engine, runner, "worker:a").run(message.payload) is Outcome.DONE
    # The same message again (a broker redelivery), to another worker: not run.
    assert make_worker(engine, runner, "worker:b").run(message.payload) is Outcome.STALE
    assert len(runner.calls) == 1

    # A message that waited past its dispatch lease: the engine took the job back.
    scheduler.tick()
    [media] = app.messages[1:]
    clock.advance(DISPATCH + 1)
    assert engine.requeue_expired() == 1
    assert make_worker(engine, runner).run(media.payload) is Outcome.STALE
    assert len(runner.calls) == 1
    [_, row] = job_rows(db, task_id)
    assert (row.state, row.attempt) == (JobState.QUEUED, 1)


class Blocking:
    """A runner that reports progress, then waits until its job is cancelled."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        ctx.progress(30.0)
        self.started.set()
        for _ in range(500):
            if ctx.cancel.is_set():
                return JobResult(job_id=job.job_id, ok=False, error_code="Cancelled")
            threading.Event().wait(0.01)
        raise AssertionError("the job was never stopped")


def run_in_thread(worker: JobWorker, message: dict[str, Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(worker.run(message)))
    thread.start()
    return thread, outcome


def test_a_worker_stops_a_job_whose_lease_it_lost(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine
) -> None:
    runner = Blocking()
    worker = make_worker(engine, runner)
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    thread, outcome = run_in_thread(worker, app.messages[0].payload)
    assert runner.started.wait(5)
    assert job_rows(db, task_id)[0].progress == 30.0  # progress went to the engine
    engine.cancel(task_id)
    worker.beat()  # the heartbeat finds the claim gone and stops the job
    thread.join(5)
    assert outcome == [Outcome.LOST]
    assert engine.task_view(task_id).state is TaskState.CANCELLED
    assert worker.running() == []


def test_stopping_a_worker_hands_its_jobs_back_without_using_an_attempt(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine
) -> None:
    runner = Blocking()
    worker = make_worker(engine, runner)
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    thread, outcome = run_in_thread(worker, app.messages[0].payload)
    assert runner.started.wait(5)
    assert worker.stop() == 1
    thread.join(5)
    assert outcome == [Outcome.LOST]
    [row] = job_rows(db, task_id)
    assert (row.state, row.attempt, row.max_attempts) == (JobState.QUEUED, 1, 4)
    assert worker.run(app.messages[0].payload) is Outcome.LOST  # stopping: takes no more


class Flaky:
    """An engine link whose first ``failures`` results hit a database error."""

    def __init__(self, engine: Engine, failures: int) -> None:
        self.engine = engine
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def handle(self, event: JobEvent, **claim: Any) -> bool:
        if event.type is JobEventType.FINISHED and self.failures > 0:
            self.failures -= 1
            raise DatabaseUnavailable("the database is unreachable: server closed")
        return self.engine.handle(event, **claim)


def test_a_result_finished_during_an_outage_is_recorded_when_the_database_is_back(
    engine: Engine, scheduler: Scheduler, app: StubApp
) -> None:
    # Eight failed tries span well over the old patience (half a 2 s lease): the result is
    # kept however long the outage lasts, and the job is not run again.
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    runner = ScriptedRunner()
    worker = JobWorker(Flaky(engine, 8), runner, owner="w", lease_seconds=2)
    worker._reports = Outage("test", logging.getLogger("test"), base=0.01, cap=0.02)
    assert worker.run(app.messages[0].payload) is Outcome.DONE
    assert engine.task_view(task_id).media_info is not None
    assert len(runner.calls) == 1


def test_a_stopping_worker_gives_up_an_unrecordable_result_and_renews_meanwhile(
    engine: Engine, scheduler: Scheduler, app: StubApp
) -> None:
    engine.submit(make_request(1))
    scheduler.tick()
    flaky = Flaky(engine, 10**6)
    worker = JobWorker(flaky, ScriptedRunner(), owner="w", lease_seconds=2)
    outcome: list[Outcome] = []
    thread = threading.Thread(target=lambda: outcome.append(worker.run(app.messages[0].payload)))
    thread.start()
    deadline = time.monotonic() + 10
    while flaky.failures == 10**6 and time.monotonic() < deadline:
        time.sleep(0.01)
    # While the result waits for the database, the job is still this worker's: its lease is
    # renewed by the heartbeat.
    assert worker.running() == [app.messages[0].payload["job_id"]]
    worker.stop()
    thread.join(timeout=10)
    assert outcome == [Outcome.UNREPORTED]


def test_claims_the_broker_could_not_take_are_handed_back(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine
) -> None:
    task_ids = [engine.submit(make_request(1)) for _ in range(2)]
    app.fail = ConnectionRefusedError("broker down")
    assert scheduler.tick() == 0
    rows = [job_rows(db, task_id)[0] for task_id in task_ids]
    assert [(r.state, r.attempt, r.max_attempts) for r in rows] == [(JobState.QUEUED, 1, 4)] * 2
    assert scheduler.running() == {}
    assert scheduler.executor.free_slots() == 0  # paused before trying again


def test_claims_the_broker_could_not_take_past_the_outage_budget_fail_naming_it(
    engine: Engine,
    settings: Settings,
    app: StubApp,
    db: DbEngine,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executor_module, "PAUSE_START", 0.0)  # no pause between the ticks
    executor = CeleryExecutor(app, queue=settings.celery_queue, slots=settings.cluster_slots)
    budget = settings.model_copy(update={"outage_budget_seconds": 60.0})
    scheduler = Scheduler(engine, executor, budget, owner="sched")
    task_ids = [engine.submit(make_request(1)) for _ in range(2)]
    app.fail = ConnectionRefusedError("broker down")
    for _ in range(2):  # inside the budget: handed back, no attempt used
        assert scheduler.tick() == 0
        rows = [job_rows(db, task_id)[0] for task_id in task_ids]
        assert {r.state for r in rows} == {JobState.QUEUED}
        assert {r.max_attempts - r.attempt for r in rows} == {settings.max_attempts}
        clock.advance(30)
    assert scheduler.tick() == 0  # 60 s of failed sends: the budget is spent
    views = [engine.task_view(task_id) for task_id in task_ids]
    assert [view.state for view in views] == [TaskState.FAILED] * 2
    for view in views:
        [subtask] = view.subtasks
        assert subtask.err_code == "ResourceUnavailable.Broker"
        assert "broker is unreachable" in subtask.message
        assert "longer than the outage budget of 60 s" in subtask.message
    assert scheduler.running() == {}
    # The broker is back: a new task is sent (and the outage is over).
    app.fail = None
    later = engine.submit(make_request(1))
    assert scheduler.tick() == 1
    assert engine.task_view(later).state is not TaskState.FAILED
    scheduler.stop()


def test_a_stopping_scheduler_leaves_dispatched_jobs_to_the_workers(
    engine: Engine, scheduler: Scheduler, db: DbEngine
) -> None:
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    scheduler.stop()
    [row] = job_rows(db, task_id)
    assert (row.state, row.lease_owner) == (JobState.RUNNING, "sched")


class Unreachable(Flaky):
    def adopt(self, *claim: Any) -> bool:
        raise DatabaseUnavailable("the database is unreachable: connection refused")


class BackAfter(Flaky):
    """Refuses the first ``failures`` adoptions, as a database restarting would."""

    def adopt(self, *claim: Any) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise DatabaseUnavailable("the database is unreachable: connection refused")
        return self.engine.adopt(*claim)


def test_a_claim_is_adopted_when_the_database_is_back_or_left_to_its_lease_on_stop(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine
) -> None:
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    runner = ScriptedRunner()
    link = Unreachable(engine, 0)
    worker = JobWorker(link, runner, owner="w", lease_seconds=30)
    worker._reports = Outage("test", logging.getLogger("test"), base=0.01, cap=0.02)
    outcome: list[Outcome] = []
    thread = threading.Thread(target=lambda: outcome.append(worker.run(app.messages[0].payload)))
    thread.start()
    time.sleep(0.2)  # a few refused adoptions
    assert outcome == [] and runner.calls == []  # the message is held, not dropped
    worker.stop()
    thread.join(timeout=10)
    assert outcome == [Outcome.UNADOPTED]
    assert runner.calls == []
    [row] = job_rows(db, task_id)
    assert (row.state, row.lease_owner) == (JobState.RUNNING, "sched")


def test_a_claim_held_through_an_outage_occupies_its_thread(
    engine: Engine, scheduler: Scheduler, app: StubApp
) -> None:
    # The consumer watchdog counts a worker's free threads with ``occupied``: a thread
    # holding a message until the database is back takes no other one, so it is not free
    # (else a database outage would pass for a dead broker consumer and end the worker).
    engine.submit(make_request(1))
    scheduler.tick()
    worker = JobWorker(Unreachable(engine, 0), ScriptedRunner(), owner="w", lease_seconds=30)
    worker._reports = Outage("test", logging.getLogger("test"), base=0.01, cap=0.02)
    assert worker.occupied() == 0
    thread = threading.Thread(target=worker.run, args=(app.messages[0].payload,))
    thread.start()
    deadline = time.monotonic() + 10
    while worker.occupied() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.occupied() == 1 and worker.running() == []
    worker.stop()
    thread.join(timeout=10)
    assert worker.occupied() == 0


def test_a_claim_held_through_an_outage_runs_once_the_database_is_back(
    engine: Engine, scheduler: Scheduler, app: StubApp
) -> None:
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    runner = ScriptedRunner()
    worker = JobWorker(BackAfter(engine, 5), runner, owner="w", lease_seconds=30)
    worker._reports = Outage("test", logging.getLogger("test"), base=0.01, cap=0.02)
    assert worker.run(app.messages[0].payload) is Outcome.DONE
    assert len(runner.calls) == 1
    assert engine.task_view(task_id).media_info is not None


class StopsWhileAdopting(Flaky):
    worker: JobWorker

    def adopt(self, *claim: Any) -> bool:
        adopted = self.engine.adopt(*claim)
        self.worker.stop()  # SIGTERM arrives just as the claim is taken
        return adopted


def test_a_claim_adopted_while_stopping_is_handed_back_at_once(
    engine: Engine, scheduler: Scheduler, app: StubApp, db: DbEngine
) -> None:
    task_id = engine.submit(make_request(1))
    scheduler.tick()
    runner = ScriptedRunner()
    link = StopsWhileAdopting(engine, 0)
    link.worker = worker = JobWorker(link, runner, owner="w", lease_seconds=30)
    assert worker.run(app.messages[0].payload) is Outcome.LOST
    assert runner.calls == []
    [row] = job_rows(db, task_id)
    assert (row.state, row.attempt, row.max_attempts) == (JobState.QUEUED, 1, 4)


class Monotonic:
    """A settable ``time.monotonic`` for the scheduler's and its dispatch watch's module."""

    def __init__(self) -> None:
        self.now = 5000.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def sleep(seconds: float) -> None:
        """Not used by these tests' schedulers."""


def test_a_queue_nobody_reads_pauses_dispatch_until_a_worker_takes_a_job(
    engine: Engine,
    settings: Settings,
    app: StubApp,
    db: DbEngine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from reelflow.engine import dispatch as dispatch_module
    from reelflow.engine import scheduler as scheduler_module

    mono = Monotonic()
    monkeypatch.setattr(scheduler_module, "time", mono)
    monkeypatch.setattr(dispatch_module, "time", mono)
    stalled = settings.model_copy(update={"dispatch_stall_seconds": 10.0})
    executor = CeleryExecutor(app, queue=stalled.celery_queue, slots=2)
    scheduler = Scheduler(engine, executor, stalled, owner="sched")
    task_ids = [engine.submit(make_request(1)) for _ in range(3)]
    assert scheduler.tick() == 2
    mono.now += 11
    with caplog.at_level(logging.WARNING, logger="reelflow.engine.dispatch"):
        for _ in range(3):
            scheduler.tick()
    # Nobody adopted them: handed back without using an attempt, dispatch paused.
    assert scheduler.dispatch_paused
    assert scheduler.running() == {}
    probes = [job_rows(db, task_id)[0] for task_id in task_ids[:2]]
    assert {(r.state, r.attempt, r.max_attempts) for r in probes} == {(JobState.QUEUED, 1, 4)}
    assert len([r for r in caplog.records if "no worker reads it" in r.getMessage()]) == 1
    # While paused, one job at a time is sent, after a growing interval.
    assert scheduler.tick() == 0
    mono.now += 5
    assert scheduler.tick() == 1
    mono.now += 1
    assert scheduler.tick() == 0
    assert len(app.messages) == 3
    # A worker is back: it drops the stale messages, runs the probe; dispatch resumes.
    runner = ScriptedRunner()
    worker = make_worker(engine, runner)
    outcomes = [worker.run(message.payload) for message in app.messages]
    assert outcomes == [Outcome.STALE, Outcome.STALE, Outcome.DONE]
    app.messages.clear()
    mono.now += 5
    for _ in range(20):
        if app.deliver(worker.run) == 0 and scheduler.tick() == 0:
            break
    assert not scheduler.dispatch_paused
    assert [engine.task_view(t).state for t in task_ids] == [TaskState.SUCCEEDED] * 3
    scheduler.stop()
