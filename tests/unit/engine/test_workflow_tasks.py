"""A workflow's tasks outlive it: deleting or disabling a workflow never touches the tasks
it started (moved here from the workflows' tests when they moved to ``catalog``)."""

from __future__ import annotations

from typing import Any

from reelflow.catalog.accounts import Account
from reelflow.catalog.workflows import Workflows
from reelflow.engine.service import Engine
from reelflow.specs.requests import TaskSource
from reelflow.specs.workflows import WorkflowSpec

MPT = {"transcode_task_set": [{"definition": 100010}]}


def spec(**fields: Any) -> WorkflowSpec:
    data: dict[str, Any] = {"name": "web", "trigger": {"bucket": "in"}, "media_process_task": MPT}
    data.update(fields)
    return WorkflowSpec.model_validate(data)


def upload(key: str, bucket: str = "in") -> TaskSource:
    return TaskSource(type="bucket", bucket=bucket, key=key)


def test_deleting_or_disabling_a_workflow_keeps_its_tasks(
    workflows: Workflows, engine: Engine, alice: Account
) -> None:
    flow = workflows.create(alice.id, spec(), enabled=True)
    task_id = engine.submit(workflows.request_for(flow, upload("a.mp4")), account_id=alice.id)
    workflows.disable(alice.id, flow.id)
    workflows.delete(alice.id, flow.id)
    view = engine.task_view(task_id, account_id=alice.id)
    assert view.workflow_id == flow.id
    assert not view.state.is_terminal
