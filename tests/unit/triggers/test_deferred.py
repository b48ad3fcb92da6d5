"""Deferred starts (issue 21): a workflow triggered while its account has
``max_queued_tasks`` unfinished tasks is recorded, not lost, and starts exactly once when
the account has room again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelflow.config import Settings
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.deferred import DeferredStarts
from reelflow.triggers.stub import StubTrigger
from reelflow.wiring.server import ServerServices, build_server
from tests.unit.triggers.conftest import add_workflow


@pytest.fixture
def runtime(tmp_path: Path, media: MemoryStorage) -> Iterator[ServerServices]:
    storages = StorageRegistry([media, MemoryStorage("out")])
    settings = Settings(data_dir=tmp_path / "data", max_queued_tasks=1)
    runtime = build_server(settings, storages=storages)  # not started: tasks stay queued
    yield runtime
    runtime.close()


@pytest.fixture
def starts(runtime: ServerServices) -> DeferredStarts:
    [found] = [t for t in runtime.triggers.triggers if isinstance(t, DeferredStarts)]
    return found


def task_ids(runtime: ServerServices) -> list[str]:
    views, _ = runtime.engine.list_tasks(limit=100)
    return sorted(view.id for view in views)


def test_an_upload_over_the_limit_is_deferred_then_starts_exactly_once(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage, starts: DeferredStarts
) -> None:
    workflow = add_workflow(runtime)
    account = runtime.admin_account.id
    deferred = runtime.triggers.deferred
    assert deferred is not None
    media.put_bytes("up/a.mp4", b"a")
    (first,) = stub.emit("media", "up/a.mp4")
    media.put_bytes("up/b.mp4", b"b")
    (held,) = stub.emit("media", "up/b.mp4")
    (again,) = stub.emit("media", "up/b.mp4")  # a repeated notice defers nothing more

    assert first.new and not first.deferred
    assert held.deferred and again.deferred and held.task_id == ""
    assert task_ids(runtime) == [first.task_id]
    [record] = deferred.page(account, 10)
    assert (record.key.workflow_id, record.key.key) == (workflow.id, "up/b.mp4")

    assert starts.resume_once() == []  # still full: nothing starts, the record stays
    assert deferred.count(account) == 1

    runtime.engine.cancel(first.task_id)
    (started,) = starts.resume_once()
    assert started.new and started.workflow_id == workflow.id and started.key == "up/b.mp4"
    assert starts.resume_once() == []
    assert deferred.count(account) == 0
    assert task_ids(runtime) == sorted([first.task_id, started.task_id])
    (late,) = stub.emit("media", "up/b.mp4")  # the same version noticed again
    assert (late.new, late.task_id) == (False, started.task_id)


def test_a_deferred_start_of_a_disabled_workflow_is_dropped(
    runtime: ServerServices, stub: StubTrigger, media: MemoryStorage, starts: DeferredStarts
) -> None:
    workflow = add_workflow(runtime)
    media.put_bytes("up/a.mp4", b"a")
    (first,) = stub.emit("media", "up/a.mp4")
    media.put_bytes("up/b.mp4", b"b")
    stub.emit("media", "up/b.mp4")
    runtime.workflows.disable(runtime.admin_account.id, workflow.id)
    runtime.engine.cancel(first.task_id)

    assert starts.resume_once() == []
    assert runtime.triggers.deferred is not None
    assert runtime.triggers.deferred.count(runtime.admin_account.id) == 0
    assert task_ids(runtime) == [first.task_id]
