"""Several results in one transaction (``Engine.finish_many``, ``Results``, the scheduler's
tick): each applied as alone, all or none committed, a faulty one failing alone."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import SubTask, Task
from reelflow.db.session import session_factory
from reelflow.engine.events import Report
from reelflow.engine.recording import Results
from reelflow.engine.scheduler import Scheduler
from reelflow.executors.base import JobContext
from reelflow.executors.inline import InlineExecutor
from reelflow.executors.local import run_guarded
from reelflow.specs.jobs import JobPayload
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.conftest import FinishRecorder, RecordingEngine
from tests.unit.engine.fakes import (
    FakeClock,
    FakePlanner,
    NoCancel,
    ScriptedRunner,
    finished,
    job_rows,
    make_request,
    output_for,
)


def reports(runner: ScriptedRunner, jobs: Sequence[JobPayload], owner: str = "w1") -> list[Report]:
    """Run ``jobs`` through ``runner``: their FINISHED reports, not recorded yet."""
    out = []
    for job in jobs:
        result = run_guarded(runner, job, JobContext(progress=lambda _: None, cancel=NoCancel()))
        out.append(Report(finished(job, result), job.attempt, owner))
    return out


def test_results_of_several_tasks_recorded_together_finish_each_task(
    engine: RecordingEngine, runner: ScriptedRunner, db: DbEngine
) -> None:
    tasks = [engine.submit(make_request(2)) for _ in range(3)]
    probes = engine.claim("w1", 10)
    assert len(probes) == 3
    assert engine.finish_many(reports(runner, probes)) == [True, True, True]
    media = engine.claim("w1", 10)
    assert sorted(job.task_id for job in media) == sorted(tasks)
    assert engine.finish_many(reports(runner, media)) == [True, True, True]
    for task_id in tasks:
        view = engine.task_view(task_id)
        assert view.state is TaskState.SUCCEEDED
        assert [sub.output for sub in view.subtasks] == [output_for(0), output_for(1)]
        assert [job.state for job in job_rows(db, task_id)] == [JobState.SUCCEEDED] * 2
    assert sorted(engine.finished) == sorted((t, "succeeded") for t in tasks)


def test_two_results_of_one_task_in_one_batch_finish_it_once(
    engine: RecordingEngine, runner: ScriptedRunner, planner: FakePlanner
) -> None:
    planner.split = True  # one media job per sub-task
    task_id = engine.submit(make_request(2))
    (probe,) = engine.claim("w1", 10)
    assert engine.finish_many(reports(runner, [probe])) == [True]
    media = engine.claim("w1", 10)
    assert len(media) == 2
    assert engine.finish_many(reports(runner, media)) == [True, True]
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    assert engine.finished == [(task_id, "succeeded")]


def test_stale_and_unknown_results_in_a_batch_change_nothing_but_the_others_apply(
    engine: RecordingEngine, runner: ScriptedRunner, db: DbEngine
) -> None:
    first, second = engine.submit(make_request(1)), engine.submit(make_request(1))
    probes = engine.claim("w1", 10)
    stale, good = reports(runner, probes)
    stale = Report(stale.event, stale.attempt, "someone-else")
    unknown = Report(stale.event.model_copy(update={"job_id": "not-a-job"}), 1, "w1")
    assert engine.finish_many([stale, unknown, good]) == [False, False, True]
    ran = next(job.task_id for job in probes if job.job_id == good.event.job_id)
    other = second if ran == first else first
    assert [job.state for job in job_rows(db, ran)] == [JobState.SUCCEEDED, JobState.QUEUED]
    assert [job.state for job in job_rows(db, other)] == [JobState.RUNNING]


class FailingFinish(FinishRecorder):
    """An outbox that raises (a bug) when ``task_id`` finishes."""

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.task_id = task_id

    def task_finished(self, session: Session, task: Task) -> None:
        if task.id == self.task_id:
            raise RuntimeError("outbox bug")
        super().task_finished(session, task)


def media_running(engine: RecordingEngine, runner: ScriptedRunner, count: int) -> list[str]:
    tasks = [engine.submit(make_request(1)) for _ in range(count)]
    engine.finish_many(reports(runner, engine.claim("w1", 10)))
    return tasks


def test_a_batch_that_fails_records_none_of_its_results(
    engine: RecordingEngine, runner: ScriptedRunner, db: DbEngine, clock: FakeClock
) -> None:
    first, second = media_running(engine, runner, 2)
    media = engine.claim("w1", 10)
    engine.observer = FailingFinish(second)
    with pytest.raises(RuntimeError, match="outbox bug"):
        engine.finish_many(reports(runner, media))
    for task_id in (first, second):
        # Still running under its lease: run again once the lease ends.
        assert engine.task_view(task_id).state is TaskState.RUNNING
        assert [job.state for job in job_rows(db, task_id)] == [
            JobState.SUCCEEDED,
            JobState.RUNNING,
        ]
    engine.observer = None
    clock.advance(31)
    assert engine.requeue_expired() == 2
    clock.advance(60)  # past the retry's backoff
    again = engine.claim("w2", 10)
    assert sorted(job.task_id for job in again) == sorted([first, second])


def test_a_faulty_result_fails_alone_and_the_others_are_recorded(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    tasks = media_running(engine, runner, 3)
    media = engine.claim("w1", 10)
    engine.observer = FailingFinish(tasks[1])
    batch = reports(runner, media)
    errors = Results(engine.finish_many).record(batch)
    failed = {job.task_id for job, error in zip(media, errors, strict=True) if error is not None}
    assert failed == {tasks[1]}
    assert [engine.task_view(t).state for t in tasks] == [
        TaskState.SUCCEEDED,
        TaskState.RUNNING,
        TaskState.SUCCEEDED,
    ]


class CountingBatches(RecordingEngine):
    batches: list[int]

    def finish_many(self, reports: Sequence[Report]) -> list[bool]:
        self.batches.append(len(reports))
        return super().finish_many(reports)


def test_a_tick_records_the_results_reported_during_it_in_one_transaction(
    db: DbEngine, planner: FakePlanner, settings: Settings, clock: FakeClock, runner: ScriptedRunner
) -> None:
    engine = CountingBatches(session_factory(db), planner, settings, clock=clock)
    engine.batches = []
    tasks = [engine.submit(make_request(1)) for _ in range(4)]
    scheduler = Scheduler(engine, InlineExecutor(runner, slots=4), settings, owner="t")
    assert scheduler.tick() == 4  # the probes: all four results in one transaction
    assert scheduler.tick() == 4  # the media jobs
    assert engine.batches == [4, 4]
    assert [engine.task_view(t).state for t in tasks] == [TaskState.SUCCEEDED] * 4
    assert scheduler.running() == {}
    with Session(db) as session:
        assert session.query(SubTask).filter(SubTask.state != SubTaskState.SUCCEEDED).count() == 0
    scheduler.stop()
