"""The outage budget: a dependency that is away delays a job without using up its attempts,
and fails it (naming the dependency) only once the outage outlasts the budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings, load_settings
from reelflow.db.session import session_factory
from reelflow.engine.outages import OUTAGE_CAP, SEND_OUTAGE_GAP, SendOutage, decide, outage_delay
from reelflow.engine.service import Engine
from reelflow.errors import ConfigError, StorageError, StorageUnavailable
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import (
    FakeClock,
    FakePlanner,
    ScriptedRunner,
    drive,
    job_rows,
    make_request,
)

AWAY = "cannot read 'up/clip.mp4' in bucket 'in': S3 at http://s3 unreachable (reset)"


def unavailable() -> StorageUnavailable:
    return StorageUnavailable(AWAY, dependency="bucket 'in'")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # max_attempts 1: any retry seen below is the outage budget's, not the attempt count's.
    return settings.model_copy(update={"max_attempts": 1, "outage_budget_seconds": 60.0})


# -- the arithmetic ---------------------------------------------------------------------------


def test_the_delay_grows_with_the_outage_and_is_capped() -> None:
    top = [outage_delay(elapsed, 3600, rand=lambda: 0.999999) for elapsed in (0, 1, 2, 4, 8)]
    assert [round(d, 3) for d in top] == [1.0, 1.0, 2.0, 4.0, 8.0]
    assert round(outage_delay(500, 3600, rand=lambda: 0.999999), 3) == OUTAGE_CAP


def test_the_delay_is_jittered_down_to_half() -> None:
    assert outage_delay(8, 3600, rand=lambda: 0.0) == 4.0
    assert outage_delay(8, 3600, rand=lambda: 0.5) == 6.0


def test_the_delay_never_passes_the_end_of_the_budget() -> None:
    assert outage_delay(58, 60, rand=lambda: 0.999) == pytest.approx(2.0)
    assert outage_delay(60, 60, rand=lambda: 0.999) == 0.0


def test_decide_starts_an_outage_then_gives_up_past_the_budget() -> None:
    clock = FakeClock()
    start = clock.now
    first = decide(None, start, 900, "away", rand=lambda: 0.0)
    assert (first.since, first.retry_in) == (start, timedelta(seconds=0.5))

    later = decide(start, start + timedelta(seconds=899), 900, "away", rand=lambda: 0.0)
    assert later.retry_in == timedelta(seconds=1)  # the last try, at the end of the budget

    over = decide(start, start + timedelta(seconds=900), 900, "bucket 'in' away")
    assert over.retry_in is None
    assert over.message == (
        "bucket 'in' away (unavailable for 15 min, longer than the outage budget of 15 min)"
    )


def test_an_outage_start_in_the_future_counts_from_now() -> None:
    clock = FakeClock()
    decision = decide(clock.now + timedelta(hours=1), clock.now, 10, "away")
    assert decision.since == clock.now


# -- the engine ------------------------------------------------------------------------------


def test_an_outage_shorter_than_the_budget_uses_no_attempt(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock, db: DbEngine
) -> None:
    runner.script[JobKind.PROBE].extend([unavailable(), unavailable()])
    runner.script[JobKind.MEDIA].extend([unavailable()] * 3)
    task_id = engine.submit(make_request(2))
    outage_start = clock.now

    assert drive(engine, runner) == 1
    probe = job_rows(db, task_id)[0]
    assert (probe.state, probe.err_code, probe.message) == (
        JobState.QUEUED,
        "StorageError.Unavailable",
        AWAY,
    )
    assert (probe.attempt, probe.max_attempts) == (1, 2)
    assert probe.outage_since == outage_start
    assert clock.now + timedelta(seconds=0.5) <= probe.not_before <= clock.now + timedelta(1)

    for _ in range(6):  # the probe's second outage failure, then the media job's three
        clock.advance(OUTAGE_CAP)
        drive(engine, runner)

    view = engine.task_view(task_id)
    assert view.state is TaskState.SUCCEEDED
    probe, media = job_rows(db, task_id)
    assert (probe.attempt, probe.max_attempts) == (3, 3)
    assert (media.attempt, media.max_attempts) == (4, 4)
    assert engine.finished == [(task_id, "succeeded")]


def test_an_outage_longer_than_the_budget_fails_the_task_naming_the_bucket(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock, db: DbEngine
) -> None:
    runner.script[JobKind.MEDIA].extend([unavailable()] * 100)
    task_id = engine.submit(make_request(2))
    drive(engine, runner)  # the probe succeeds, the media job's outage starts
    for _ in range(20):
        clock.advance(OUTAGE_CAP)
        drive(engine, runner)

    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    for sub in view.subtasks:
        assert sub.state is SubTaskState.FAILED
        assert sub.err_code == "StorageError.Unavailable"
        assert "bucket 'in'" in sub.message
        assert "longer than the outage budget of 60 s" in sub.message
    media = job_rows(db, task_id)[1]
    assert media.state is JobState.FAILED
    # Tries every <= 20 s for 60 s, then the last one past the budget: a handful, not 100.
    assert 3 <= len(runner.media_calls()) <= 8
    assert engine.finished == [(task_id, "failed")]


def test_a_probe_failing_past_the_budget_is_the_task_error(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock
) -> None:
    runner.script[JobKind.PROBE].extend([unavailable()] * 100)
    task_id = engine.submit(make_request(1))
    for _ in range(20):
        drive(engine, runner)
        clock.advance(OUTAGE_CAP)
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert view.err_code == "StorageError.Unavailable"
    assert "bucket 'in'" in view.message


def test_another_failure_ends_the_outage_and_counts_an_attempt(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock, db: DbEngine
) -> None:
    runner.script[JobKind.MEDIA].extend([unavailable(), StorageError("disk full")])
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    media = job_rows(db, task_id)[1]
    assert media.outage_since is not None
    clock.advance(OUTAGE_CAP)
    drive(engine, runner)

    media = job_rows(db, task_id)[1]
    assert (media.state, media.err_code, media.outage_since) == (
        JobState.FAILED,
        "StorageError",
        None,
    )
    assert (media.attempt, media.max_attempts) == (2, 2)  # one outage try, one counted


def test_a_new_outage_gets_a_whole_budget(
    planner: FakePlanner,
    runner: ScriptedRunner,
    clock: FakeClock,
    db: DbEngine,
    settings: Settings,
) -> None:
    two_attempts = settings.model_copy(update={"max_attempts": 2})
    engine = Engine(session_factory(db), planner, two_attempts, clock=clock)
    runner.script[JobKind.MEDIA].extend([unavailable(), StorageError("timeout"), unavailable()])
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    clock.advance(50)
    drive(engine, runner)  # the timeout: counted, outage over
    clock.advance(300)  # the counted retry's backoff
    drive(engine, runner)
    media = job_rows(db, task_id)[1]
    assert media.state is JobState.QUEUED
    assert media.outage_since == clock.now  # restarted, not 50 s + 300 s old
    clock.advance(OUTAGE_CAP)
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED


# -- the broker, as a scheduler sees it --------------------------------------------------------


def test_failed_sends_are_handed_back_until_the_broker_is_away_past_the_budget() -> None:
    outage, start = SendOutage(budget=100), datetime(2026, 1, 1, tzinfo=UTC)
    away = "the Celery broker is unreachable: OperationalError: refused"
    for seconds in (0, 50, 99):
        assert outage.failed(start + timedelta(seconds=seconds), away).retry_in is not None
    past = outage.failed(start + timedelta(seconds=100), away)
    assert past.retry_in is None
    assert past.message == (
        f"{away} (unavailable for 100 s, longer than the outage budget of 100 s)"
    )
    # A send that worked ends the outage: the next failure starts a whole budget.
    outage.sent()
    assert outage.failed(start + timedelta(seconds=101), away).retry_in is not None


def test_a_failed_send_long_after_the_last_one_starts_a_new_outage() -> None:
    # With no job to send, nobody sees the broker come back: a long gap between two failed
    # sends means it was back meanwhile.
    outage, start = SendOutage(budget=100), datetime(2026, 1, 1, tzinfo=UTC)
    outage.failed(start, "away")
    later = start + timedelta(seconds=SEND_OUTAGE_GAP + 100)
    decision = outage.failed(later, "away")
    assert decision.since == later and decision.retry_in is not None


# -- the setting -----------------------------------------------------------------------------


def test_the_budget_is_15_minutes_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REELFLOW_OUTAGE_BUDGET_SECONDS", raising=False)
    assert load_settings(data_dir=tmp_path).outage_budget_seconds == 900
    monkeypatch.setenv("REELFLOW_OUTAGE_BUDGET_SECONDS", "20")
    assert load_settings(data_dir=tmp_path).outage_budget_seconds == 20
    monkeypatch.setenv("REELFLOW_OUTAGE_BUDGET_SECONDS", "0")
    with pytest.raises(ConfigError, match="outage_budget_seconds"):
        load_settings(data_dir=tmp_path)
