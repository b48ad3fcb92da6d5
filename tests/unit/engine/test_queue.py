"""Who runs first, deduplication by session id, and listing tasks."""

from __future__ import annotations

import pytest

from reelflow.errors import SpecError
from reelflow.specs.states import TaskState
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import FakeClock, FakePlanner, ScriptedRunner, drive, make_request


def test_claim_takes_higher_priority_first_then_oldest_first(
    engine: RecordingEngine, clock: FakeClock
) -> None:
    order = [("low-a", 0), ("high-a", 5), ("low-b", 0), ("urgent", 10), ("high-b", 5)]
    ids = {}
    for name, priority in order:
        ids[engine.submit(make_request(1, priority=priority))] = name
        clock.advance(1)
    claimed = [ids[job.task_id] for _ in order for job in engine.claim("w1", 1)]
    assert claimed == ["urgent", "high-a", "high-b", "low-a", "low-b"]


def test_fifo_holds_for_tasks_created_in_the_same_instant(
    engine: RecordingEngine,
) -> None:
    first = engine.submit(make_request(1))
    second = engine.submit(make_request(1))
    third = engine.submit(make_request(1))
    assert [job.task_id for job in engine.claim("w1", 3)] == [first, second, third]


def test_claim_respects_the_limit_and_skips_running_jobs(engine: RecordingEngine) -> None:
    for _ in range(3):
        engine.submit(make_request(1))
    assert engine.claim("w1", 0) == []
    assert len(engine.claim("w1", 2)) == 2
    [last] = engine.claim("w2", 5)
    assert engine.claim("w3", 5) == []
    assert last.attempt == 1


def test_same_session_id_within_seven_days_returns_the_first_task(
    engine: RecordingEngine, planner: FakePlanner, clock: FakeClock
) -> None:
    first = engine.submit(make_request(1, session_id="upload-42"))
    clock.advance(6 * 86400)
    assert engine.submit(make_request(3, session_id="upload-42")) == first
    assert planner.resolve_calls == 1  # the duplicate is not even resolved
    assert engine.submit(make_request(1, session_id="upload-43")) != first
    clock.advance(2 * 86400)
    later = engine.submit(make_request(1, session_id="upload-42"))
    assert later != first
    assert len(engine.list_tasks()[0]) == 3


def test_empty_session_id_never_deduplicates(engine: RecordingEngine) -> None:
    assert engine.submit(make_request(1)) != engine.submit(make_request(1))


def test_list_tasks_pages_newest_first_and_filters(
    engine: RecordingEngine, runner: ScriptedRunner, clock: FakeClock
) -> None:
    created = []
    for _ in range(5):
        created.append(engine.submit(make_request(1)))
        clock.advance(1)
    runner.failing = {0: ("FFmpegFailed", "x")}
    [probe] = engine.claim("w1", 1)  # the oldest task starts running
    assert probe.task_id == created[0]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, cursor = engine.list_tasks(limit=2, cursor=cursor)
        seen += [view.id for view in page]
        pages += 1
        if cursor is None:
            break
    assert seen == created[::-1]
    assert pages == 3

    queued, _ = engine.list_tasks(state=TaskState.QUEUED)
    assert [v.id for v in queued] == created[:0:-1]
    running, _ = engine.list_tasks(state=[TaskState.RUNNING, TaskState.SUCCEEDED])
    assert [v.id for v in running] == [created[0]]
    window, _ = engine.list_tasks(
        created_after=clock.now.replace(second=1), created_before=clock.now.replace(second=3)
    )
    assert [v.id for v in window] == [created[2], created[1]]
    assert engine.list_tasks(workflow_id=7) == ([], None)


def test_list_tasks_rejects_bad_arguments(engine: RecordingEngine) -> None:
    with pytest.raises(SpecError, match="cursor"):
        engine.list_tasks(cursor="not-a-cursor")
    with pytest.raises(SpecError, match="limit"):
        engine.list_tasks(limit=0)
    with pytest.raises(SpecError, match="limit"):
        engine.list_tasks(limit=101)


def test_a_finished_task_is_listed_as_finished(
    engine: RecordingEngine, runner: ScriptedRunner
) -> None:
    task_id = engine.submit(make_request(1))
    drive(engine, runner)
    [view], cursor = engine.list_tasks(state=TaskState.SUCCEEDED)
    assert (view.id, view.api_status, cursor) == (task_id, "FINISH", None)
