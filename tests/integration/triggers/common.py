"""Helpers of the trigger integration tests: workflows, waiting, task lists."""

from __future__ import annotations

import time
from collections.abc import Callable

from reelflow.catalog.workflows import WorkflowRecord
from reelflow.engine.views import TaskView
from reelflow.specs.states import TaskState
from reelflow.specs.tasks import (
    MediaProcessTask,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
)
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger
from reelflow.wiring.server import ServerServices

SPEC = MediaProcessTask(
    transcode_task_set=[TranscodeTaskInput(definition=100010)],
    snapshot_by_time_offset_task_set=[
        SnapshotByTimeOffsetTaskInput(definition=10, ext_time_offset_set=["0.5s", "1s"])
    ],
)


def add_workflow(
    runtime: ServerServices, bucket: str, *, folder: str = "up/", output_bucket: str = ""
) -> WorkflowRecord:
    spec = WorkflowSpec(
        name=f"wf-{bucket}-{folder.strip('/') or 'root'}",
        trigger=WorkflowTrigger(bucket=bucket, dir=folder),  # formats: video and audio
        media_process_task=SPEC,
        output_bucket=output_bucket,
    )
    return runtime.workflows.create(runtime.admin_account.id, spec, enabled=True)


def tasks(runtime: ServerServices) -> list[TaskView]:
    views, _ = runtime.engine.list_tasks(limit=100)
    return sorted(views, key=lambda view: view.created_at)


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def run_all(runtime: ServerServices, timeout: float = 180) -> list[TaskView]:
    """Tick the scheduler until every task is final; returns the tasks."""
    finished = runtime.scheduler.run_until(
        lambda: all(view.state.is_terminal for view in tasks(runtime)), timeout=timeout
    )
    assert finished, [view.state for view in tasks(runtime)]
    return tasks(runtime)


def succeeded(view: TaskView) -> bool:
    return view.state is TaskState.SUCCEEDED
