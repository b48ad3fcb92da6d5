"""Trigger fixtures: a real ``ServerServices`` over in-memory buckets, a stub trigger, workflows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reelflow.catalog.workflows import WorkflowRecord
from reelflow.config import Settings
from reelflow.specs.tasks import MediaProcessTask, TranscodeTaskInput
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.stub import StubTrigger
from reelflow.wiring.server import ServerServices, build_server

MakeRuntime = Callable[[], ServerServices]


@pytest.fixture
def media() -> MemoryStorage:
    return MemoryStorage("media")


@pytest.fixture
def make_runtime(tmp_path: Path, media: MemoryStorage) -> Iterator[MakeRuntime]:
    """Builds runtimes over one data dir (a second one is a restart)."""
    made: list[ServerServices] = []

    def make() -> ServerServices:
        storages = StorageRegistry([media, MemoryStorage("out")])
        runtime = build_server(Settings(data_dir=tmp_path / "data"), storages=storages)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def runtime(make_runtime: MakeRuntime) -> ServerServices:
    return make_runtime()


@pytest.fixture
def stub(runtime: ServerServices) -> StubTrigger:
    trigger = StubTrigger(runtime.triggers.dispatcher)
    trigger.start()
    return trigger


def add_workflow(
    runtime: ServerServices,
    *,
    folder: str = "up/",
    formats: list[str] | None = None,
    enabled: bool = True,
    name: str = "wf",
    output_bucket: str = "",
) -> WorkflowRecord:
    spec = WorkflowSpec(
        name=name,
        trigger=WorkflowTrigger(bucket="media", dir=folder, formats=formats or []),
        media_process_task=MediaProcessTask(
            transcode_task_set=[TranscodeTaskInput(definition=100010)]
        ),
        output_bucket=output_bucket,
    )
    return runtime.workflows.create(runtime.admin_account.id, spec, enabled=enabled)
