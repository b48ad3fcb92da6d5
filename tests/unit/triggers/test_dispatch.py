"""The dispatcher's rules: matching workflows, one task per object version and workflow
(across restarts too), never a task for reelflow's own outputs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from reelflow.catalog.triggered import TriggerKey, record_outputs
from reelflow.db.session import transaction
from reelflow.specs.requests import TaskSource
from reelflow.specs.schedules import ScheduleSpec, ScheduleStep, StepRole
from reelflow.specs.tasks import MediaProcessTask, TranscodeTaskInput
from reelflow.specs.workflows import WorkflowTrigger
from reelflow.storage.memory import MemoryStorage
from reelflow.triggers.stub import StubTrigger
from reelflow.wiring.server import ServerServices
from tests.unit.triggers.conftest import MakeRuntime, add_workflow
from tests.unit.triggers.works import samples, transcode


def task_ids(runtime: ServerServices) -> list[str]:
    views, _ = runtime.engine.list_tasks(limit=100)
    return sorted(view.id for view in views)


def test_a_matching_upload_starts_one_task(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage
) -> None:
    workflow = add_workflow(runtime)
    media.put_bytes("up/a.mp4", b"v1")

    (fired,) = stub.emit("media", "up/a.mp4")

    assert fired.new and fired.workflow_id == workflow.id
    view = runtime.engine.task_view(fired.task_id)
    assert view.workflow_id == workflow.id
    assert task_ids(runtime) == [fired.task_id]


def test_the_same_version_never_starts_twice_a_new_one_does(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage
) -> None:
    add_workflow(runtime)
    media.put_bytes("up/a.mp4", b"v1")
    (first,) = stub.emit("media", "up/a.mp4")
    (again,) = stub.emit("media", "up/a.mp4")
    media.put_bytes("up/a.mp4", b"v1")  # the same content copied again: same version
    (copy,) = stub.emit("media", "up/a.mp4")
    media.put_bytes("up/a.mp4", b"v2")
    (changed,) = stub.emit("media", "up/a.mp4")

    assert (again.new, again.task_id) == (False, first.task_id)
    assert (copy.new, copy.task_id) == (False, first.task_id)
    assert changed.new and changed.task_id != first.task_id
    assert len(task_ids(runtime)) == 2


def test_each_matching_workflow_gets_its_task(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage
) -> None:
    add_workflow(runtime, name="all", folder="")
    add_workflow(runtime, name="up", folder="up/")
    add_workflow(runtime, name="hd", folder="up/hd/")
    add_workflow(runtime, name="off", folder="up/", enabled=False)
    add_workflow(runtime, name="wav", folder="up/", formats=["wav"])
    media.put_bytes("up/a.mp4", b"x")

    fired = stub.emit("media", "up/a.mp4")

    assert [f.new for f in fired] == [True, True]
    assert len(set(task_ids(runtime))) == 2


def test_nothing_matches_nothing_starts(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage
) -> None:
    add_workflow(runtime, folder="up/")
    media.put_bytes("other/a.mp4", b"x")
    media.put_bytes("up/notes.txt", b"x")
    assert stub.emit("media", "other/a.mp4") == []
    assert stub.emit("media", "up/notes.txt") == []
    assert stub.emit("media", "up/missing.mp4") == []  # gone before it was looked at
    assert stub.emit("media", "up/../escape.mp4") == []  # not a valid key
    assert task_ids(runtime) == []


def test_restart_does_not_trigger_again(make_runtime: MakeRuntime, media: MemoryStorage) -> None:
    first = make_runtime()
    add_workflow(first)
    media.put_bytes("up/a.mp4", b"v1")
    (fired,) = first.triggers.upload(first.admin_account.id, "media", "up/a.mp4")
    first.close()

    second = make_runtime()
    (again,) = second.triggers.upload(second.admin_account.id, "media", "up/a.mp4")

    assert (again.new, again.task_id) == (False, fired.task_id)
    assert task_ids(second) == [fired.task_id]


def test_reelflows_own_outputs_never_trigger(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage
) -> None:
    add_workflow(runtime, folder="up/", formats=["mp4", "ts", "jpg"])
    works = [
        transcode("media", "up/a_transcode_100010.m3u8", segments="up/a_transcode_100010_%d.ts"),
        samples("media", ["up/a_snap_10_0.jpg", "up/a_snap_10_1.jpg"]),
        transcode("media", "up/a_transcode_100020.mp4"),
    ]
    with transaction(runtime.sessions, write=True) as session:
        record_outputs(session, "rf-1", works, datetime.now(UTC))
    for key in (
        "up/a_transcode_100010_0.ts",
        "up/a_transcode_100010_17.ts",
        "up/a_snap_10_1.jpg",
        "up/a_transcode_100020.mp4",
    ):
        media.put_bytes(key, b"out")
        assert stub.emit("media", key) == [], key
    media.put_bytes("up/a_transcode_100030.mp4", b"a user's file")
    assert len(stub.emit("media", "up/a_transcode_100030.mp4")) == 1


def test_concurrent_submits_of_one_key_make_one_task(runtime: ServerServices) -> None:
    workflow = add_workflow(runtime)
    source = TaskSource(type="bucket", bucket="media", key="up/a.mp4")
    request = runtime.workflows.request_for(workflow, source)
    key = TriggerKey(workflow.id, "media", "up/a.mp4", "etag-1")
    results: list[str] = []

    def submit() -> None:
        results.append(
            runtime.engine.submit(request, account_id=workflow.account_id, trigger_key=key)
        )

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(results)) == 1
    assert task_ids(runtime) == results[:1]


def test_a_notice_that_loses_the_race_reports_the_winners_task(
    runtime: ServerServices,
    stub: StubTrigger,
    media: MemoryStorage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same version's task is started by a twin after the dispatcher's own check: the
    engine says it did not create a task, and the notice reports the twin's as not new."""
    add_workflow(runtime)
    media.put_bytes("up/a.mp4", b"v1")
    engine = runtime.engine
    real = engine.submit_task
    twins: list[str] = []

    def racing(request: Any, **options: Any) -> Any:
        twins.append(real(request, **options).task_id)
        return real(request, **options)

    monkeypatch.setattr(engine, "submit_task", racing)
    (fired,) = stub.emit("media", "up/a.mp4")

    assert (fired.new, fired.task_id) == (False, twins[0])
    assert task_ids(runtime) == twins


def add_schedule(runtime: ServerServices, *, name: str, enabled: bool) -> int:
    steps = [
        ScheduleStep(role=StepRole.INPUT, next=[1]),
        ScheduleStep(role=StepRole.ACTION, node="activity-1"),
    ]
    spec = ScheduleSpec(
        name=name,
        trigger=WorkflowTrigger(bucket="media", dir="up/"),
        steps=steps,
        media_process_task=MediaProcessTask(
            transcode_task_set=[TranscodeTaskInput(definition=100010, id="activity-1")]
        ),
    )
    return runtime.schedules.create(runtime.admin_account.id, spec, enabled=enabled).id


def test_schedules_fire_beside_workflows_each_once_per_version(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage
) -> None:
    workflow = add_workflow(runtime)
    schedule_id = add_schedule(runtime, name="on", enabled=True)
    add_schedule(runtime, name="off", enabled=False)
    assert schedule_id == workflow.id  # their own sequences: the ledger keeps them apart
    media.put_bytes("up/a.mp4", b"v1")

    fired = stub.emit("media", "up/a.mp4")
    again = stub.emit("media", "up/a.mp4")

    assert [(f.schedule, f.workflow_id, f.new) for f in fired] == [
        (False, workflow.id, True),
        (True, schedule_id, True),
    ]
    assert [(f.task_id, f.new) for f in again] == [(f.task_id, False) for f in fired]
    view = runtime.engine.task_view(fired[1].task_id)
    assert view.request.schedule is not None
    assert view.request.schedule.schedule_id == schedule_id
    assert [sub.spec.node_id for sub in view.subtasks] == ["activity-1"]
