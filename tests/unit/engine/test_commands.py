"""Cancelling and retrying tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.errors import InvalidMedia, StateError
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import (
    FakePlanner,
    ScriptedRunner,
    drive,
    job_rows,
    make_request,
    output_for,
    run,
    work,
)


def test_cancel_stops_jobs_and_cancels_unfinished_subtasks(
    engine: RecordingEngine, runner: ScriptedRunner, db: DbEngine, planner: FakePlanner
) -> None:
    planner.split = True
    task_id = engine.submit(make_request(2))
    [probe] = engine.claim("w1", 1)
    run(engine, runner, probe)
    first, second = engine.claim("w1", 5)
    assert run(engine, runner, first)

    engine.cancel(task_id)
    view = engine.task_view(task_id)
    assert (view.state, view.api_status, view.err_code) == (
        TaskState.CANCELLED,
        "FINISH",
        "Cancelled",
    )
    assert [(s.state, s.api_status, s.err_code) for s in view.subtasks] == [
        (SubTaskState.SUCCEEDED, "SUCCESS", ""),
        (SubTaskState.CANCELLED, "FAIL", "Cancelled"),
    ]
    assert [j.state for j in job_rows(db, task_id)] == [
        JobState.SUCCEEDED,
        JobState.SUCCEEDED,
        JobState.CANCELLED,
    ]
    # The worker still running the cancelled job learns it from its heartbeat...
    assert engine.heartbeat("w1", [second.job_id]) == [second.job_id]
    # ...and whatever it reports afterwards is ignored.
    assert not run(engine, runner, second)
    assert engine.task_view(task_id).subtasks[1].state is SubTaskState.CANCELLED
    assert engine.finished == [(task_id, "cancelled")]

    engine.cancel(task_id)  # again: nothing happens
    assert engine.finished == [(task_id, "cancelled")]
    assert engine.claim("w1", 5) == []


def test_cancel_a_queued_task(engine: RecordingEngine, db: DbEngine) -> None:
    task_id = engine.submit(make_request(1))
    engine.cancel(task_id)
    assert engine.task_view(task_id).state is TaskState.CANCELLED
    assert [j.state for j in job_rows(db, task_id)] == [JobState.CANCELLED]
    assert engine.claim("w1", 5) == []


def test_cancel_a_finished_task_is_refused(engine: RecordingEngine, runner: ScriptedRunner) -> None:
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    with pytest.raises(StateError, match="already finished") as info:
        engine.cancel(task_id)
    assert info.value.code == "FailedOperation.State"
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED


def test_retry_failed_reruns_only_the_failed_subtasks(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner, db: DbEngine
) -> None:
    runner.failing = {1: ("FFmpegFailed", "boom"), 2: ("FFmpegFailed", "boom")}
    task_id = engine.submit(make_request(3))
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.FAILED
    runner.failing = {}

    assert engine.retry_failed(task_id) == [1, 2]
    view = engine.task_view(task_id)
    assert (view.state, view.finished_at) == (TaskState.QUEUED, None)
    assert [(s.state, s.output, s.err_code) for s in view.subtasks] == [
        (SubTaskState.SUCCEEDED, output_for(0), ""),
        (SubTaskState.PENDING, None, ""),
        (SubTaskState.PENDING, None, ""),
    ]
    assert planner.plan_calls[-1] == [1, 2]  # planned at once: the probe is known
    assert job_rows(db, task_id)[-1].kind is JobKind.MEDIA

    assert drive(engine, runner) == 1
    assert len(runner.probe_calls()) == 1
    assert runner.media_calls()[-1].works == [work(1), work(2)]
    done = engine.task_view(task_id)
    assert done.state is TaskState.SUCCEEDED
    assert [s.output for s in done.subtasks] == [output_for(0), output_for(1), output_for(2)]
    assert engine.finished == [(task_id, "failed"), (task_id, "succeeded")]


def test_retry_after_a_probe_failure_probes_again(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    runner.script[JobKind.PROBE].append(InvalidMedia("truncated"))
    task_id = engine.submit(make_request(2))
    drive(engine, runner)
    assert engine.task_view(task_id).err_code == "InvalidInput"

    assert engine.retry_failed(task_id) == [0, 1]
    assert engine.task_view(task_id).err_code == ""
    drive(engine, runner)
    assert len(runner.probe_calls()) == 2
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED


def test_retry_whose_subtasks_are_all_rejected_fails_again_at_once(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner
) -> None:
    runner.failing = {0: ("FFmpegFailed", "boom")}
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    planner.rejections = {0: ("UnsupportedOperation.Media", "no video")}
    engine.retry_failed(task_id)
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert view.subtasks[0].err_code == "UnsupportedOperation.Media"
    assert engine.finished == [(task_id, "failed"), (task_id, "failed")]


def test_retry_is_only_for_failed_tasks(engine: RecordingEngine, runner: ScriptedRunner) -> None:
    task_id = engine.submit(make_request(1))
    with pytest.raises(StateError, match="only a failed task"):
        engine.retry_failed(task_id)
    drive(engine, runner)
    with pytest.raises(StateError, match="only a failed task"):
        engine.retry_failed(task_id)
