"""The outbox: events are written in the transaction of the state change, or not at all."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from reelflow.compat.render import event_body
from reelflow.db.models import SubTask, Task
from reelflow.engine.views import TaskView
from reelflow.notify.body import encode
from reelflow.notify.outbox import OutboxWriter
from reelflow.specs.events import DeliveryState, EventType
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.states import TaskState
from tests.unit.engine.fakes import FakeClock, drive, make_request
from tests.unit.notify.harness import Harness

QUEUE = NotifyTarget(name="events")


def test_a_finished_task_writes_one_event_in_the_compatible_format(
    harness: Harness, clock: FakeClock
) -> None:
    wakes: list[int] = []
    harness.outbox.on_written = lambda: wakes.append(1)
    task_id = harness.finish(QUEUE, subtasks=2)

    [event] = harness.events(task_id)
    assert (event.seq, event.type, event.account_id) == (1, EventType.TASK_FINISHED, None)
    assert event.id.startswith("ev-") and event.created_at == clock.now
    assert event.target == QUEUE.to_json()
    body = event.body
    assert body["EventType"] == "WorkflowTask"
    assert (body["EventId"], body["Sequence"], body["EventKind"]) == (event.id, 1, "task.finished")
    assert body["EditMediaTaskEvent"] is None and body["ScheduleTaskEvent"] is None
    assert "Timestamp" not in body and "Sign" not in body  # added when sent
    task = body["WorkflowTaskEvent"]
    assert (task["TaskId"], task["Status"], task["ErrCode"]) == (task_id, "FINISH", 0)
    assert task["MetaData"]["Container"] == "mov,mp4,m4a,3gp,3g2,mj2"
    results = task["MediaProcessResultSet"]
    assert [r["Type"] for r in results] == ["Transcode", "Transcode"]
    assert [r["TranscodeTask"]["Status"] for r in results] == ["SUCCESS", "SUCCESS"]
    assert results[1]["TranscodeTask"]["Output"]["Definition"] == 100011

    [delivery] = harness.deliveries()
    assert delivery.state is DeliveryState.PENDING and delivery.attempts == 0
    assert delivery.next_attempt_at == clock.now
    assert delivery.target_key == QUEUE.key()
    assert wakes == [1]  # the dispatcher is woken once the transaction committed


def test_a_task_without_a_target_writes_nothing(harness: Harness) -> None:
    harness.finish(None)
    assert harness.events() == [] and harness.deliveries() == []


def test_failed_and_cancelled_tasks_are_announced_too(harness: Harness) -> None:
    harness.runner.failing = {0: ("FFmpegFailed", "boom")}
    failed = harness.finish(QUEUE)
    cancelled = harness.engine.submit(make_request(1).model_copy(update={"notify": QUEUE}))
    harness.engine.cancel(cancelled)
    [fail_event] = harness.events(failed)
    result = fail_event.body["WorkflowTaskEvent"]["MediaProcessResultSet"][0]["TranscodeTask"]
    assert (result["Status"], result["ErrCodeExt"]) == ("FAIL", "FFmpegFailed")
    [cancel_event] = harness.events(cancelled)
    assert cancel_event.body["WorkflowTaskEvent"]["ErrCodeExt"] == "Cancelled"


class _Exploding(OutboxWriter):
    """Writes its event, then the transaction fails after it."""

    def task_finished(self, session: Session, task: Task) -> None:
        super().task_finished(session, task)
        raise RuntimeError("the state change fails after the event was written")


def test_a_rolled_back_state_change_leaves_no_event(harness: Harness) -> None:
    exploding = _Exploding(harness.sessions, 60.0)
    wakes: list[int] = []
    exploding.on_written = lambda: wakes.append(1)
    harness.engine.observer = exploding
    task_id = harness.engine.submit(make_request(1).model_copy(update={"notify": QUEUE}))
    with pytest.raises(RuntimeError, match="state change fails"):
        harness.engine.cancel(task_id)
    assert harness.engine.task_view(task_id).state is TaskState.QUEUED
    assert harness.events() == [] and harness.deliveries() == []
    assert wakes == []  # nothing committed: nobody is woken
    # The next, successful transaction is not mistaken for one that wrote an event.
    harness.engine.observer = harness.outbox
    harness.engine.cancel(task_id)
    assert len(harness.events(task_id)) == 1


def test_change_mode_also_announces_the_start_and_each_sub_task(harness: Harness) -> None:
    harness.runner.failing = {1: ("FFmpegFailed", "boom")}
    harness.planner.split = True  # one job per sub-task: they end one by one
    task_id = harness.finish(NotifyTarget(name="events", mode="Change"), subtasks=2)
    events = harness.events(task_id)
    assert [(e.seq, e.type, e.body.get("SubTaskIndex")) for e in events] == [
        (1, EventType.TASK_STARTED, None),
        (2, EventType.SUBTASK_FINISHED, 0),
        (3, EventType.SUBTASK_FINISHED, 1),
        (4, EventType.TASK_FINISHED, None),
    ]
    statuses = [e.body["WorkflowTaskEvent"]["Status"] for e in events]
    assert statuses == ["PROCESSING", "PROCESSING", "PROCESSING", "FINISH"]
    assert len({e.id for e in events}) == 4
    assert len(harness.deliveries()) == 4


def test_finish_mode_skips_start_and_sub_task_events(harness: Harness) -> None:
    task_id = harness.finish(QUEUE, subtasks=3)
    assert [e.type for e in harness.events(task_id)] == [EventType.TASK_FINISHED]


def test_a_retried_task_announces_its_second_end_with_the_next_sequence(harness: Harness) -> None:
    harness.runner.failing = {0: ("FFmpegFailed", "boom")}
    task_id = harness.finish(QUEUE)
    harness.runner.failing = {}
    harness.engine.retry_failed(task_id)
    drive(harness.engine, harness.runner)
    events = harness.events(task_id)
    assert [(e.seq, e.body["WorkflowTaskEvent"]["MediaProcessResultSet"][0]["TranscodeTask"]
             ["Status"]) for e in events] == [(1, "FAIL"), (2, "SUCCESS")]  # fmt: skip


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    def task_started(self, session: Session, task: Task) -> None:
        self.calls.append(("started", []))

    def subtasks_finished(self, session: Session, task: Task, subtasks: Sequence[SubTask]) -> None:
        self.calls.append(("subtasks", [s.index for s in subtasks]))

    def task_finished(self, session: Session, task: Task) -> None:
        assert session.in_transaction()
        self.calls.append(("finished", []))


def test_the_engine_reports_lease_expiry_failures_as_finished_sub_tasks(
    harness: Harness, clock: FakeClock
) -> None:
    recorder = _Recorder()
    harness.engine.observer = recorder
    task_id = harness.engine.submit(make_request(1))
    [probe] = harness.engine.claim("w1", 1)
    assert probe.task_id == task_id
    for _ in range(3):  # max_attempts=2: the second expiry fails the probe's sub-task
        clock.advance(3600)
        harness.engine.requeue_expired()
        harness.engine.claim("w1", 1)
    assert recorder.calls == [("started", []), ("subtasks", [0]), ("finished", [])]


def test_sub_tasks_finishing_together_are_written_in_one_go_with_the_usual_bodies(
    harness: Harness,
) -> None:
    target = NotifyTarget(name="events", mode="Change")
    task_id = harness.engine.submit(make_request(6).model_copy(update={"notify": target}))
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    with harness.sessions() as session, session.begin():
        task = session.get(Task, task_id)
        assert task is not None
        subtasks = list(task.subtasks)
        assert len(subtasks) == 6
        flushes: list[int] = []
        event.listen(session, "after_flush", lambda *_: flushes.append(1))
        event.listen(harness.db, "before_cursor_execute", record)
        try:
            harness.outbox.subtasks_finished(session, task, list(reversed(subtasks)))
        finally:
            event.remove(harness.db, "before_cursor_execute", record)
        # One read of the last number and one flush for all six, not one each.
        assert sum("max(notify_events.seq)" in s for s in statements) == 1
        assert flushes == [1]
        # The next event of the same transaction is numbered after them.
        harness.outbox.task_finished(session, task)
        view = TaskView.of(task)

    events = harness.events(task_id)
    assert [(e.seq, e.type, e.body.get("SubTaskIndex")) for e in events] == [
        *[(i + 1, EventType.SUBTASK_FINISHED, i) for i in range(6)],
        (7, EventType.TASK_FINISHED, None),
    ]
    for e in events:
        # Byte for byte what the body of a single event is: same keys, same order.
        expected = event_body(view, e.id, e.seq, e.type, e.body.get("SubTaskIndex"))
        assert encode(e.body) == encode(expected)
        assert e.target == target.to_json()
    assert len({e.id for e in events}) == 7
    deliveries = harness.deliveries()
    assert [d.event_id for d in deliveries] == [e.id for e in events]
    assert {d.target_key for d in deliveries} == {target.key()}


def test_no_finished_sub_tasks_write_nothing(harness: Harness) -> None:
    target = NotifyTarget(name="events", mode="Change")
    task_id = harness.engine.submit(make_request(1).model_copy(update={"notify": target}))
    with harness.sessions() as session, session.begin():
        task = session.get(Task, task_id)
        assert task is not None
        harness.outbox.subtasks_finished(session, task, [])
        assert "reelflow.notify.written" not in session.info
    assert harness.events(task_id) == []
