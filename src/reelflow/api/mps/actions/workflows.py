"""Workflow actions: Create, Reset, Describe, Enable, Disable, Delete.

New workflows are disabled; ``ResetWorkflow`` (a whole replacement: there is no
``ModifyWorkflow`` in this API version) and ``DeleteWorkflow`` need a disabled workflow,
else ``FailedOperation``. Enable and Disable are idempotent. An unknown id is
``ResourceNotFound``.
"""

from __future__ import annotations

from typing import Any

from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.locations import bucket, output_bucket, output_dir, request_regions
from reelflow.api.mps.mapping import from_spec_error, media_process_task, notify_target
from reelflow.api.mps.params import Params, invalid, unsupported
from reelflow.api.mps.required import CREATE_WORKFLOW, RESET_WORKFLOW, Struct, check
from reelflow.api.mps.validation import validate
from reelflow.catalog.workflows import WorkflowRecord
from reelflow.compat.regions import fill_regions
from reelflow.compat.workflows import workflow_info as render_workflow_info
from reelflow.errors import SpecError
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger

FAILED_OPERATION = "FailedOperation"
_FIELDS = (
    "WorkflowName",
    "Trigger",
    "OutputStorage",
    "OutputDir",
    "MediaProcessTask",
    "TaskNotifyConfig",
    "TaskPriority",
)
# SpecError fields of the engine's workflow checks, in the request's terms.
_RENAMES = {
    "name": "WorkflowName",
    "trigger.bucket": "Trigger.CosFileUploadTrigger.Bucket",
    "trigger": "Trigger.CosFileUploadTrigger",
    "output_bucket": "OutputStorage.CosOutputStorage.Bucket",
    "output_dir": "OutputDir",
    "notify.url": "TaskNotifyConfig.NotifyUrl",
    "notify": "TaskNotifyConfig",
    "priority": "TaskPriority",
}


def trigger_spec(ctx: ActionContext, p: Params) -> WorkflowTrigger:
    """A ``WorkflowTrigger`` (workflows and schedules)."""
    kind = p.text("Type", required=True)
    if kind == "AwsS3FileUpload":
        raise unsupported(
            p.where("Type") + " AwsS3FileUpload",
            "use CosFileUpload with the configured bucket's name (S3 buckets included)",
        )
    if kind != "CosFileUpload":
        raise invalid(p.where("Type"), f"must be CosFileUpload, got {kind!r}")
    p.only(("Type", "CosFileUploadTrigger"))
    cos = p.obj("CosFileUploadTrigger", required=True)
    assert cos is not None
    cos.only(("Bucket", "Region", "Dir", "Formats"))
    name = bucket(
        ctx,
        cos.text("Bucket", required=True),
        cos.text("Region", required=True),
        cos.where("Bucket"),
    )
    folder = cos.text("Dir", "/")
    if not (folder.startswith("/") and folder.endswith("/")):
        raise invalid(cos.where("Dir"), f"must start and end with '/', got {folder!r}")
    formats = cos.raw("Formats")
    fields = {"Bucket": name, "Dir": folder, "Formats": formats if formats is not None else []}
    return validate(WorkflowTrigger, fields, cos.path)


def workflow_spec(ctx: ActionContext, p: Params, schema: Struct) -> WorkflowSpec:
    """The ``WorkflowSpec`` of a CreateWorkflow / ResetWorkflow request."""
    check(schema, p.data, "")
    p.only((*_FIELDS, "WorkflowId"))
    trigger = trigger_spec(ctx, p.obj("Trigger", required=True) or Params({}))
    task = p.obj("MediaProcessTask", required=True)
    assert task is not None
    fields: dict[str, Any] = {
        "Name": p.text("WorkflowName", required=True, max_length=128),
        "Trigger": trigger,
        "MediaProcessTask": media_process_task(ctx, task),
        "OutputBucket": output_bucket(ctx, p.obj("OutputStorage")),
        "OutputDir": output_dir(p, "OutputDir"),
        "Notify": notify_target(p.obj("TaskNotifyConfig")),
        "Priority": p.integer("TaskPriority", 0, low=-10, high=10),
    }
    if not fields["Name"].strip():
        raise invalid("WorkflowName", "must not be empty")
    fields["Regions"] = request_regions(ctx, p.data, [trigger.bucket, fields["OutputBucket"]])
    return validate(WorkflowSpec, fields, "")


def workflow_info(ctx: ActionContext, record: WorkflowRecord) -> dict[str, Any]:
    """``WorkflowInfo``."""
    filled: dict[str, Any] = fill_regions(render_workflow_info(record), ctx.region_of)
    return filled


def _workflow_id(p: Params) -> int:
    return p.integer("WorkflowId", required=True, low=1)


def _disabled(ctx: ActionContext, workflow_id: int, doing: str) -> None:
    record = ctx.services.workflows.get(ctx.account.id, workflow_id)
    if record.enabled:
        raise MpsError(
            FAILED_OPERATION,
            f"workflow {workflow_id} is enabled: disable it (DisableWorkflow) before {doing} it",
        )


def create_workflow(ctx: ActionContext, p: Params) -> dict[str, Any]:
    spec = workflow_spec(ctx, p, CREATE_WORKFLOW)
    try:
        record = ctx.services.workflows.create(ctx.account.id, spec, enabled=False)
    except SpecError as exc:
        raise from_spec_error(exc, _RENAMES) from None
    return {"WorkflowId": record.id}


def reset_workflow(ctx: ActionContext, p: Params) -> dict[str, Any]:
    workflow_id = _workflow_id(p)
    _disabled(ctx, workflow_id, "resetting")
    spec = workflow_spec(ctx, p, RESET_WORKFLOW)
    try:
        ctx.services.workflows.replace(ctx.account.id, workflow_id, spec)
    except SpecError as exc:
        raise from_spec_error(exc, _RENAMES) from None
    return {}


def describe_workflows(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("WorkflowIds", "Status", "Offset", "Limit"))
    status = p.text("Status")
    if status not in ("", "Enabled", "Disabled"):
        raise invalid("Status", f"must be Enabled or Disabled, got {status!r}")
    records, total = ctx.services.workflows.list(
        ctx.account.id,
        enabled=None if not status else status == "Enabled",
        ids=p.integers("WorkflowIds"),
        offset=p.integer("Offset", 0, low=0),
        limit=p.integer("Limit", 10, low=1, high=100),
    )
    return {"TotalCount": total, "WorkflowInfoSet": [workflow_info(ctx, r) for r in records]}


def enable_workflow(ctx: ActionContext, p: Params) -> dict[str, Any]:
    ctx.services.workflows.enable(ctx.account.id, _workflow_id(p))
    return {}


def disable_workflow(ctx: ActionContext, p: Params) -> dict[str, Any]:
    ctx.services.workflows.disable(ctx.account.id, _workflow_id(p))
    return {}


def delete_workflow(ctx: ActionContext, p: Params) -> dict[str, Any]:
    workflow_id = _workflow_id(p)
    _disabled(ctx, workflow_id, "deleting")
    ctx.services.workflows.delete(ctx.account.id, workflow_id)
    return {}


ACTIONS: dict[str, Handler] = {
    "CreateWorkflow": create_workflow,
    "ResetWorkflow": reset_workflow,
    "DescribeWorkflows": describe_workflows,
    "EnableWorkflow": enable_workflow,
    "DisableWorkflow": disable_workflow,
    "DeleteWorkflow": delete_workflow,
}
