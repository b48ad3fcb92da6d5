"""Retention (issue 21): finished tasks older than ``task_retention_days`` are deleted with
their sub-tasks, jobs, events and deliveries, in batches; nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, select

from reelflow.config import Settings
from reelflow.db.models import Base, Job, SubTask, Task
from reelflow.db.notify import NotifyDelivery, NotifyEvent
from reelflow.notify.sinks.memory import MemorySinks
from reelflow.specs.notify import NotifyTarget
from tests.unit.engine.fakes import FakeClock, make_request
from tests.unit.notify.harness import Harness, make_harness

DAY = 24 * 3600.0
QUEUE = NotifyTarget(name="events")


@pytest.fixture
def harness(db: DbEngine, tmp_path: Path, clock: FakeClock) -> Harness:
    settings = Settings(data_dir=tmp_path, task_retention_days=30, max_attempts=2)
    return make_harness(db, MemorySinks(), settings=settings, clock=clock)


def rows(harness: Harness, model: type[Base], task_ids: list[str]) -> int:
    column = {
        Task: Task.id,
        SubTask: SubTask.task_id,
        Job: Job.task_id,
        NotifyEvent: NotifyEvent.task_id,
    }[model]
    with harness.sessions() as session:
        return session.scalar(select(func.count()).where(column.in_(task_ids))) or 0


def count(harness: Harness, model: type[Base]) -> int:
    with harness.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_old_finished_tasks_go_with_everything_of_theirs_and_nothing_else(
    harness: Harness, clock: FakeClock
) -> None:
    old = [harness.finish(QUEUE, subtasks=2) for _ in range(3)]
    assert harness.deliveries()
    clock.advance(20 * DAY)
    recent = harness.finish(QUEUE)
    waiting = harness.engine.submit(make_request(1))  # never run: unfinished, however old
    clock.advance(11 * DAY)  # the old ones finished 31 days ago, the recent one 11

    assert harness.engine.purge_finished() == 3
    assert harness.engine.purge_finished() == 0
    for model in (Task, SubTask, Job, NotifyEvent):
        assert rows(harness, model, old) == 0, model
        assert rows(harness, model, [recent]) > 0, model
    assert rows(harness, Task, [waiting]) == 1
    assert count(harness, NotifyDelivery) == 1  # the recent task's only
    assert harness.engine.task_view(recent).state.is_terminal


def test_a_backlog_of_old_tasks_goes_in_batches(harness: Harness, clock: FakeClock) -> None:
    harness.engine.retention.batch = 2
    for _ in range(5):
        harness.finish(None)
    clock.advance(31 * DAY)
    assert [harness.engine.purge_finished() for _ in range(4)] == [2, 2, 1, 0]
    assert count(harness, Task) == 0


def test_zero_days_keeps_every_task(harness: Harness, clock: FakeClock) -> None:
    harness.engine.retention.days = 0
    harness.finish(None)
    clock.advance(3650 * DAY)
    assert harness.engine.purge_finished() == 0
    assert count(harness, Task) == 1
