"""A task from submission to its end: success, sub-task failures, probe failures, plans."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.errors import InvalidMedia, SpecError, TaskNotFound
from reelflow.specs.jobs import JobEvent, JobEventType, JobKind, JobResult, SubTaskOutcome
from reelflow.specs.requests import TaskRequest
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import (
    MEDIA_INFO,
    FakeClock,
    FakePlanner,
    ScriptedRunner,
    drive,
    job_rows,
    make_request,
    output_for,
    run,
    work,
)


def test_happy_path_runs_probe_then_media_and_succeeds(
    engine: RecordingEngine, runner: ScriptedRunner, db: DbEngine, clock: FakeClock
) -> None:
    task_id = engine.submit(make_request(2))
    assert task_id.startswith("rf-") and len(task_id) == 35

    view = engine.task_view(task_id)
    assert (view.state, view.api_status) == (TaskState.QUEUED, "WAITING")
    assert [(s.index, s.state, s.api_status) for s in view.subtasks] == [
        (0, SubTaskState.PENDING, "PROCESSING"),
        (1, SubTaskState.PENDING, "PROCESSING"),
    ]
    assert view.subtasks[1].spec.definition == 100011
    assert view.request == make_request(2)

    [probe] = engine.claim("w1", 5)
    assert (probe.kind, probe.task_id, probe.attempt) == (JobKind.PROBE, task_id, 1)
    assert probe.source.key == "up/clip.mp4"
    running = engine.task_view(task_id)
    assert (running.state, running.api_status) == (TaskState.RUNNING, "PROCESSING")
    assert running.started_at == clock.now
    assert engine.claim("w1", 5) == []  # the probe is the only job so far

    clock.advance(1)
    assert run(engine, runner, probe)
    after_probe = engine.task_view(task_id)
    assert after_probe.media_info == MEDIA_INFO
    assert after_probe.state is TaskState.RUNNING

    [media] = engine.claim("w1", 5)
    assert media.kind is JobKind.MEDIA
    assert media.works == [work(0), work(1)]
    assert media.media_info == MEDIA_INFO
    assert (media.video_preset, media.timeout, media.attempt) == ("veryfast", 120.0, 1)
    assert media.ffmpeg_threads == 1  # REELFLOW_FFMPEG_THREADS reaches the job
    assert [s.state for s in engine.task_view(task_id).subtasks] == [SubTaskState.RUNNING] * 2

    clock.advance(2)
    assert run(engine, runner, media)
    done = engine.task_view(task_id)
    assert (done.state, done.api_status, done.err_code) == (TaskState.SUCCEEDED, "FINISH", "")
    assert done.finished_at == clock.now
    assert [(s.state, s.api_status, s.output, s.progress) for s in done.subtasks] == [
        (SubTaskState.SUCCEEDED, "SUCCESS", output_for(0), 100.0),
        (SubTaskState.SUCCEEDED, "SUCCESS", output_for(1), 100.0),
    ]
    assert [(j.kind, j.state, j.attempt) for j in job_rows(db, task_id)] == [
        (JobKind.PROBE, JobState.SUCCEEDED, 1),
        (JobKind.MEDIA, JobState.SUCCEEDED, 1),
    ]
    assert engine.finished == [(task_id, "succeeded")]


def test_failed_subtask_fails_the_task_and_keeps_the_others(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    runner.failing = {1: ("FFmpegFailed", "encoder exploded")}
    task_id = engine.submit(make_request(3))
    assert drive(engine, runner) == 2

    view = engine.task_view(task_id)
    assert (view.state, view.api_status, view.err_code) == (TaskState.FAILED, "FINISH", "")
    assert [(s.state, s.err_code, s.message, s.output) for s in view.subtasks] == [
        (SubTaskState.SUCCEEDED, "", "", output_for(0)),
        (SubTaskState.FAILED, "FFmpegFailed", "encoder exploded", None),
        (SubTaskState.SUCCEEDED, "", "", output_for(2)),
    ]
    assert view.has_failed_subtask
    assert engine.finished == [(task_id, "failed")]


def test_success_without_output_or_without_outcome_fails_the_subtask(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    runner.script[JobKind.MEDIA].append(
        lambda job: JobResult(
            job_id=job.job_id,
            ok=True,
            subtasks=[SubTaskOutcome(index=0, ok=True, output=None)],  # and nothing for 1
        )
    )
    task_id = engine.submit(make_request(2))
    drive(engine, runner)

    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert [(s.state, s.err_code) for s in view.subtasks] == [
        (SubTaskState.FAILED, "InternalError"),
        (SubTaskState.FAILED, "InternalError"),
    ]
    assert "without an output" in view.subtasks[0].message
    assert "without a result" in view.subtasks[1].message


def test_probe_failure_fails_every_subtask_with_its_code(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner, db: DbEngine
) -> None:
    runner.script[JobKind.PROBE].append(InvalidMedia("the source is not a video file"))
    task_id = engine.submit(make_request(2))
    assert drive(engine, runner) == 1

    view = engine.task_view(task_id)
    assert (view.state, view.err_code) == (TaskState.FAILED, "InvalidInput")
    assert view.message == "the source is not a video file"
    assert view.media_info is None
    assert [(s.state, s.err_code) for s in view.subtasks] == [
        (SubTaskState.FAILED, "InvalidInput"),
        (SubTaskState.FAILED, "InvalidInput"),
    ]
    assert planner.plan_calls == []
    assert [(j.kind, j.state, j.err_code) for j in job_rows(db, task_id)] == [
        (JobKind.PROBE, JobState.FAILED, "InvalidInput")
    ]
    assert engine.finished == [(task_id, "failed")]


def test_probe_ok_without_media_info_is_a_failure(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    runner.script[JobKind.PROBE].append(lambda job: JobResult(job_id=job.job_id, ok=True))
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert (view.state, view.err_code) == (TaskState.FAILED, "InternalError")
    assert view.subtasks[0].err_code == "InternalError"


def test_rejected_subtasks_fail_at_once_with_the_planner_code(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner
) -> None:
    planner.rejections = {0: ("UnsupportedOperation.Media", "the source has no video")}
    task_id = engine.submit(make_request(2))
    drive(engine, runner)

    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert [(s.state, s.err_code) for s in view.subtasks] == [
        (SubTaskState.FAILED, "UnsupportedOperation.Media"),
        (SubTaskState.SUCCEEDED, ""),
    ]
    [media] = runner.media_calls()
    assert media.works == [work(1)]


def test_all_rejected_finishes_the_task_without_media_jobs(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner, db: DbEngine
) -> None:
    planner.rejections = {0: ("UnsupportedOperation.Media", "no video")}
    task_id = engine.submit(make_request(1))
    assert drive(engine, runner) == 1
    assert engine.task_view(task_id).state is TaskState.FAILED
    assert [j.kind for j in job_rows(db, task_id)] == [JobKind.PROBE]
    assert engine.finished == [(task_id, "failed")]


@pytest.mark.parametrize("broken", ["raises", "invalid"])
def test_a_planner_fault_fails_the_subtasks_instead_of_hanging(
    engine: RecordingEngine,
    runner: ScriptedRunner,
    planner: FakePlanner,
    broken: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if broken == "raises":
        planner.plan_error = KeyError("boom")
    else:
        planner.rejections = {0: ("X", "y")}
        planner.split = True
        original = planner.plan

        def duplicate(*args, **kwargs):  # type: ignore[no-untyped-def]
            plan = original(*args, **kwargs)
            return type(plan)(jobs=plan.jobs + plan.jobs, rejected=plan.rejected)

        planner.plan = duplicate  # type: ignore[method-assign]
    task_id = engine.submit(make_request(2))
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert {s.err_code for s in view.subtasks} == {"InternalError"}
    assert runner.media_calls() == []
    assert "plan" in caplog.text


def test_several_jobs_per_task_finish_the_task_once(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner
) -> None:
    planner.split = True
    task_id = engine.submit(make_request(3))
    [probe] = engine.claim("w1", 5)
    run(engine, runner, probe)
    jobs = engine.claim("w1", 5)
    assert sorted(j.works[0].index for j in jobs) == [0, 1, 2]
    run(engine, runner, jobs[0])
    run(engine, runner, jobs[1])
    assert engine.task_view(task_id).state is TaskState.RUNNING
    assert engine.finished == []
    run(engine, runner, jobs[2])
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    assert engine.finished == [(task_id, "succeeded")]


def test_progress_is_written_when_it_moves_enough(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    task_id = engine.submit(make_request(2))
    [probe] = engine.claim("w1", 1)
    run(engine, runner, probe)
    [media] = engine.claim("w1", 1)

    def progress(value: float) -> bool:
        event = JobEvent(job_id=media.job_id, type=JobEventType.PROGRESS, progress=value)
        return engine.handle(event, attempt=media.attempt, owner="w1")

    assert progress(10.0)
    assert not progress(10.4)  # less than a point, and too soon
    assert [s.progress for s in engine.task_view(task_id).subtasks] == [10.0, 10.0]
    assert progress(25.0)
    assert [s.progress for s in engine.task_view(task_id).subtasks] == [25.0, 25.0]
    run(engine, runner, media)
    assert not progress(50.0)  # the job is over: a late progress report changes nothing
    assert [s.progress for s in engine.task_view(task_id).subtasks] == [100.0, 100.0]


def test_submit_rejects_bad_requests_and_writes_nothing(
    engine: RecordingEngine, planner: FakePlanner
) -> None:
    def refuse(request: TaskRequest, templates: object) -> list[object]:
        raise SpecError("no such template 999", field="definition")

    planner.resolve = refuse  # type: ignore[assignment]
    with pytest.raises(SpecError, match="no such template"):
        engine.submit(make_request(1))
    assert engine.list_tasks() == ([], None)


def test_unknown_task_is_task_not_found(engine: RecordingEngine) -> None:
    with pytest.raises(TaskNotFound) as info:
        engine.task_view("rf-nope")
    assert info.value.code == "ResourceNotFound.TaskNotFound"
    for command in (engine.cancel, engine.retry_failed):
        with pytest.raises(TaskNotFound):
            command("rf-nope")
