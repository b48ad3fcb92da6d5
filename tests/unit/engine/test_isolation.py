"""One account never reaches another's tasks, templates, workflows or buckets: it is told
they do not exist, exactly as for unknown ones.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.accounts import Account
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import Workflows
from reelflow.config import Settings
from reelflow.engine.service import Engine
from reelflow.errors import (
    BucketNotFound,
    ReelflowError,
    SpecError,
    TaskNotFound,
    TemplateNotFound,
    WorkflowNotFound,
)
from reelflow.planner.plan import DefaultPlanner
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.tasks import MediaProcessTask, SnapshotByTimeOffsetTaskInput
from reelflow.specs.templates import SnapshotTemplate, TemplateKind
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import FakeClock, ScriptedRunner, drive, make_request


@pytest.fixture
def real_engine(
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    templates: Templates,
    buckets: Buckets,
) -> Engine:
    """An engine whose planner really resolves templates (submission only: no probe)."""
    return Engine(
        sessions, DefaultPlanner(), settings, clock=clock, templates=templates, buckets=buckets
    )


def snapshot_request(definition: int, bucket: str = "in", **fields: str) -> TaskRequest:
    return TaskRequest(
        source=TaskSource(type="bucket", bucket=bucket, key="up/clip.mp4"),
        media_process_task=MediaProcessTask(
            snapshot_by_time_offset_task_set=[
                SnapshotByTimeOffsetTaskInput(definition=definition, ext_time_offset_set=["1s"])
            ]
        ),
        **fields,
    )


def not_found(call: Callable[[], object], error: type[ReelflowError]) -> str:
    with pytest.raises(error) as info:
        call()
    return info.value.message


def test_tasks_of_another_account_do_not_exist(
    engine: RecordingEngine, runner: ScriptedRunner, alice: Account, bob: Account
) -> None:
    runner.failing = {1: ("FFmpegFailed", "boom")}
    task_id = engine.submit(make_request(2), account_id=alice.id)
    drive(engine, runner)
    assert engine.task_view(task_id, account_id=alice.id).account_id == alice.id
    for call in (
        lambda: engine.task_view(task_id, account_id=bob.id),
        lambda: engine.cancel(task_id, account_id=bob.id),
        lambda: engine.retry_failed(task_id, account_id=bob.id),
    ):
        message = not_found(call, TaskNotFound)
        assert message == not_found(lambda: engine.task_view("rf-unknown"), TaskNotFound).replace(
            "rf-unknown", task_id
        )
    assert engine.list_tasks(account_id=bob.id) == ([], None)
    assert [v.id for v in engine.list_tasks(account_id=alice.id)[0]] == [task_id]
    # Internal callers (account_id=None) see every task.
    assert [v.id for v in engine.list_tasks()[0]] == [task_id]
    assert engine.retry_failed(task_id, account_id=alice.id) == [1]


def test_buckets_of_another_account_do_not_exist(
    engine: RecordingEngine, buckets: Buckets, alice: Account, bob: Account
) -> None:
    theirs = not_found(lambda: buckets.check_access(bob.id, "in"), BucketNotFound)
    unknown = not_found(lambda: buckets.check_access(bob.id, "nope"), BucketNotFound)
    assert theirs == unknown.replace("nope", "in")
    buckets.check_access(alice.id, "in")
    with pytest.raises(BucketNotFound) as info:
        engine.submit(make_request(1), account_id=bob.id)  # source in alice's bucket
    assert info.value.code == "ResourceNotFound.BucketNotExist"
    request = make_request(1).model_copy(update={"output_bucket": "bob-in"})
    with pytest.raises(BucketNotFound):
        engine.submit(request, account_id=alice.id)  # output to bob's bucket
    assert engine.list_tasks() == ([], None)
    assert [b.name for b in buckets.list(alice.id)] == ["alice-out", "in"]
    assert buckets.owner("in") == alice.id and buckets.owner("nope") is None
    assert buckets.ensure("in", bob.id) == alice.id  # an owned bucket keeps its owner


def test_templates_of_another_account_do_not_exist(
    real_engine: Engine, templates: Templates, alice: Account, bob: Account
) -> None:
    kind = TemplateKind.SNAPSHOT
    mine = templates.create(alice.id, kind, SnapshotTemplate(name="mine")).definition
    assert real_engine.submit(snapshot_request(mine), account_id=alice.id)
    for call in (
        lambda: templates.get(bob.id, kind, mine),
        lambda: templates.update(bob.id, kind, mine, SnapshotTemplate()),
        lambda: templates.delete(bob.id, kind, mine),
    ):
        assert str(mine) in not_found(call, TemplateNotFound)
    records, total = templates.list(bob.id, kind, type="Custom")
    assert (records, total) == ([], 0)
    with pytest.raises(SpecError) as info:
        real_engine.submit(snapshot_request(mine, bucket="bob-in"), account_id=bob.id)
    assert info.value.code == "ResourceNotFound.TemplateNotExist"
    assert info.value.field == "media_process_task.snapshot_by_time_offset_task_set[0].definition"
    # Everyone may use the presets.
    assert real_engine.submit(snapshot_request(10, bucket="bob-in"), account_id=bob.id)


def test_workflows_of_another_account_do_not_exist(
    workflows: Workflows, alice: Account, bob: Account
) -> None:
    flow = workflows.create(
        alice.id,
        WorkflowSpec(
            name="web",
            trigger=WorkflowTrigger(bucket="in"),
            media_process_task=snapshot_request(10).media_process_task,
        ),
    )
    for call in (
        lambda: workflows.get(bob.id, flow.id),
        lambda: workflows.enable(bob.id, flow.id),
        lambda: workflows.disable(bob.id, flow.id),
        lambda: workflows.delete(bob.id, flow.id),
        lambda: workflows.replace(
            bob.id,
            flow.id,
            flow.spec.model_copy(update={"trigger": WorkflowTrigger(bucket="bob-in")}),
        ),
    ):
        assert not_found(call, WorkflowNotFound) == f"no workflow with id {flow.id}"
    assert workflows.list(bob.id) == ([], 0)
    assert workflows.get(alice.id, flow.id) == flow


def test_session_ids_are_per_account(engine: RecordingEngine, alice: Account, bob: Account) -> None:
    first = engine.submit(make_request(1, session_id="up-1"), account_id=alice.id)
    assert engine.submit(make_request(1, session_id="up-1"), account_id=alice.id) == first
    request = make_request(1, session_id="up-1").model_copy(
        update={"source": TaskSource(type="bucket", bucket="bob-in", key="a.mp4")}
    )
    assert engine.submit(request, account_id=bob.id) != first
    assert engine.submit(make_request(1, session_id="up-1")) != first  # internal caller


def test_accounts_cannot_read_local_files(engine: RecordingEngine, alice: Account) -> None:
    request = TaskRequest(
        source=TaskSource(type="file", path="/etc/passwd"),
        media_process_task=make_request(1).media_process_task,
        output_bucket="in",
    )
    with pytest.raises(SpecError) as info:
        engine.submit(request, account_id=alice.id)
    assert info.value.field == "source.type"
    assert engine.submit(request)  # in-process callers may
