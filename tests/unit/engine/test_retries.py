"""Retries, leases and late events: nothing lost, nothing stuck, nothing finished twice."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.engine import jobs
from reelflow.engine.outcomes import retry_delay
from reelflow.errors import FFmpegFailed, StorageError
from reelflow.specs.jobs import JobKind, JobResult
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import (
    MEDIA_INFO,
    FakeClock,
    ScriptedRunner,
    drive,
    finished,
    job_rows,
    make_request,
    output_for,
    run,
)


def test_retry_delay_doubles_up_to_a_cap() -> None:
    assert [retry_delay(a).total_seconds() for a in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retry_delay(30).total_seconds() == 300


def test_retryable_failure_is_requeued_with_backoff_then_succeeds(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock, db: DbEngine
) -> None:
    runner.script[JobKind.MEDIA].append(StorageError("upload timed out"))
    task_id = engine.submit(make_request(2))
    assert drive(engine, runner) == 2  # probe, then the failing media attempt

    view = engine.task_view(task_id)
    assert view.state is TaskState.RUNNING
    assert [s.state for s in view.subtasks] == [SubTaskState.PENDING] * 2
    media = job_rows(db, task_id)[1]
    assert (media.state, media.attempt, media.err_code) == (JobState.QUEUED, 1, "StorageError")
    assert media.not_before == clock.now + retry_delay(1)
    assert media.lease_owner is None

    clock.advance(4.9)
    assert engine.claim("w1", 5) == []  # still backing off
    clock.advance(0.2)
    assert drive(engine, runner) == 1

    done = engine.task_view(task_id)
    assert done.state is TaskState.SUCCEEDED
    assert [s.output for s in done.subtasks] == [output_for(0), output_for(1)]
    assert [s.attempts for s in done.subtasks] == [2, 2]
    assert [job.attempt for job in runner.media_calls()] == [1, 2]
    assert engine.finished == [(task_id, "succeeded")]


def test_attempts_exhausted_fails_the_subtasks(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock, db: DbEngine
) -> None:
    runner.script[JobKind.MEDIA].extend(StorageError(f"timeout {i}") for i in range(5))
    task_id = engine.submit(make_request(2))
    for _ in range(5):
        drive(engine, runner)
        clock.advance(600)

    assert len(runner.media_calls()) == 3  # settings.max_attempts
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert [(s.state, s.err_code, s.message) for s in view.subtasks] == [
        (SubTaskState.FAILED, "StorageError", "timeout 2")
    ] * 2
    media = job_rows(db, task_id)[1]
    assert (media.state, media.attempt) == (JobState.FAILED, 3)
    assert engine.finished == [(task_id, "failed")]


def test_non_retryable_job_failure_fails_at_once(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    runner.script[JobKind.MEDIA].append(FFmpegFailed("bad filter graph"))
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert view.subtasks[0].err_code == "FFmpegFailed"
    assert len(runner.media_calls()) == 1


def test_partial_success_then_retry_keeps_finished_subtasks(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock
) -> None:
    def half(job):  # type: ignore[no-untyped-def]
        return JobResult(
            job_id=job.job_id,
            ok=False,
            retryable=True,
            error_code="StorageError",
            message="upload of the second output timed out",
            subtasks=[runner.outcome(0)],
        )

    runner.script[JobKind.MEDIA].append(half)
    task_id = engine.submit(make_request(2))
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert [s.state for s in view.subtasks] == [SubTaskState.SUCCEEDED, SubTaskState.PENDING]

    clock.advance(60)
    drive(engine, runner)
    done = engine.task_view(task_id)
    assert done.state is TaskState.SUCCEEDED
    assert [s.attempts for s in done.subtasks] == [1, 2]  # sub-task 0 was not run again


def test_the_lease_sweep_takes_back_one_batch_at_a_time(
    engine: RecordingEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mass expiry (a dead worker pool) is taken back in batches of ``SWEEP_BATCH``, one
    short transaction each, so claims never wait long for the write lock."""
    monkeypatch.setattr(jobs, "SWEEP_BATCH", 2)
    for _ in range(5):
        engine.submit(make_request(1))
    assert len(engine.claim("crashed", 5)) == 5
    clock.advance(30.5)
    assert [engine.requeue_expired() for _ in range(4)] == [2, 2, 1, 0]


def test_expired_lease_is_requeued_and_the_late_result_ignored(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock, db: DbEngine
) -> None:
    task_id = engine.submit(make_request(1))
    [probe] = engine.claim("crashed", 1)
    assert engine.requeue_expired() == 0
    clock.advance(30.5)
    assert engine.requeue_expired() == 1
    job = job_rows(db, task_id)[0]
    assert (job.state, job.attempt, job.err_code) == (
        JobState.QUEUED,
        1,
        "InternalError.LeaseExpired",
    )
    assert job.not_before == clock.now + retry_delay(1)
    assert engine.requeue_expired() == 0

    clock.advance(10)
    [again] = engine.claim("w2", 1)
    assert (again.job_id, again.attempt) == (probe.job_id, 2)
    # The "crashed" worker was only slow: its result arrives now and must not count.
    assert not run(engine, runner, probe, owner="crashed")
    assert engine.task_view(task_id).media_info is None
    assert run(engine, runner, again, owner="w2")
    drive(engine, runner, owner="w2")
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED


def test_stale_event_without_owner_is_still_fenced_by_attempt(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock
) -> None:
    engine.submit(make_request(1))
    [first] = engine.claim("w1", 1)
    clock.advance(31)
    engine.requeue_expired()
    clock.advance(10)
    [second] = engine.claim("w1", 1)  # the same owner claims it again
    result = JobResult(job_id=first.job_id, ok=True, media_info=MEDIA_INFO)
    assert not engine.handle(finished(first, result), attempt=first.attempt)
    assert engine.handle(
        finished(second, JobResult(job_id=second.job_id, ok=False, error_code="InvalidInput")),
        attempt=second.attempt,
    )


def test_lease_expiring_on_every_attempt_fails_the_task(
    engine: RecordingEngine, clock: FakeClock, db: DbEngine
) -> None:
    task_id = engine.submit(make_request(2))
    for _ in range(3):
        assert len(engine.claim("w1", 1)) == 1
        clock.advance(31)
        assert engine.requeue_expired() == 1
        clock.advance(600)
    assert engine.claim("w1", 1) == []
    view = engine.task_view(task_id)
    assert (view.state, view.err_code) == (TaskState.FAILED, "InternalError.LeaseExpired")
    assert {s.err_code for s in view.subtasks} == {"InternalError.LeaseExpired"}
    assert job_rows(db, task_id)[0].state is JobState.FAILED
    assert engine.finished == [(task_id, "failed")]


def test_heartbeat_keeps_the_lease_and_reports_lost_jobs(
    engine: RecordingEngine, clock: FakeClock
) -> None:
    engine.submit(make_request(1))
    [probe] = engine.claim("w1", 1)
    for _ in range(3):
        clock.advance(20)
        assert engine.heartbeat("w1", [probe.job_id]) == []
        assert engine.requeue_expired() == 0
    assert engine.heartbeat("someone-else", [probe.job_id]) == [probe.job_id]
    assert engine.heartbeat("w1", ["not-a-job", "99999"]) == ["not-a-job", "99999"]
    clock.advance(31)
    assert engine.requeue_expired() == 1
    assert engine.heartbeat("w1", [probe.job_id]) == [probe.job_id]


def test_duplicate_final_event_never_finishes_twice(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock
) -> None:
    task_id = engine.submit(make_request(1))
    [probe] = engine.claim("w1", 1)
    run(engine, runner, probe)
    [media] = engine.claim("w1", 1)
    result = JobResult(job_id=media.job_id, ok=True, subtasks=[runner.outcome(0)])
    assert engine.handle(finished(media, result), attempt=1, owner="w1")
    first_end = engine.task_view(task_id).finished_at

    clock.advance(5)
    failure = JobResult(job_id=media.job_id, ok=False, error_code="FFmpegFailed")
    assert not engine.handle(finished(media, result), attempt=1, owner="w1")
    assert not engine.handle(finished(media, failure))  # no attempt given: state still fences
    view = engine.task_view(task_id)
    assert (view.state, view.finished_at) == (TaskState.SUCCEEDED, first_end)
    assert view.subtasks[0].state is SubTaskState.SUCCEEDED
    assert engine.finished == [(task_id, "succeeded")]


def test_requeue_owner_hands_jobs_back_without_using_an_attempt(
    engine: RecordingEngine, runner: ScriptedRunner, db: DbEngine
) -> None:
    task_id = engine.submit(make_request(2))
    [probe] = engine.claim("w1", 1)
    run(engine, runner, probe)
    [media] = engine.claim("w1", 1)
    assert engine.requeue_owner("other") == 0
    assert engine.requeue_owner("w1") == 1

    job = job_rows(db, task_id)[1]
    assert (job.state, job.attempt, job.max_attempts, job.lease_owner) == (
        JobState.QUEUED,
        1,
        4,
        None,
    )
    assert [s.state for s in engine.task_view(task_id).subtasks] == [SubTaskState.PENDING] * 2
    assert not run(engine, runner, media)  # the interrupted run's result is stale
    [again] = engine.claim("w2", 1)  # at once: no backoff
    assert again.attempt == 2
    assert run(engine, runner, again, owner="w2")
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
