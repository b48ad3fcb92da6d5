"""Workflows in the compatible API's ``WorkflowInfo`` shape (``DescribeWorkflows``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from reelflow.compat import trim
from reelflow.compat.notify import to_task_notify_config
from reelflow.compat.outputs import storage_info
from reelflow.compat.regions import fill_regions
from reelflow.compat.render import iso
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger


class StoredWorkflow(Protocol):
    """What rendering reads of a workflow (``reelflow.catalog.workflows.WorkflowRecord``)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def spec(self) -> WorkflowSpec: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def trigger_info(trigger: WorkflowTrigger) -> dict[str, Any]:
    """``WorkflowTrigger`` (its region empty)."""
    return {
        "Type": "CosFileUpload",
        "CosFileUploadTrigger": {
            "Bucket": trigger.bucket,
            "Region": "",
            "Dir": "/" + trigger.dir,
            "Formats": list(trigger.formats),
        },
        "AwsS3FileUploadTrigger": None,
    }


def workflow_info(record: StoredWorkflow) -> dict[str, Any]:
    """``WorkflowInfo`` with the regions CreateWorkflow gave its buckets; others empty
    (``reelflow.compat.regions`` fills them)."""
    spec = record.spec
    source = spec.trigger.bucket
    regions = spec.regions or {}
    info: dict[str, Any] = {
        "WorkflowId": record.id,
        "WorkflowName": record.name,
        "Status": "Enabled" if record.enabled else "Disabled",
        "Trigger": trigger_info(spec.trigger),
        "OutputStorage": {**storage_info(spec.output_bucket or source), "S3OutputStorage": None},
        "OutputDir": spec.output_dir,
        "MediaProcessTask": trim.media_process_task(spec.media_process_task.to_mps()),
        "AiContentReviewTask": None,
        "AiAnalysisTask": None,
        "AiRecognitionTask": None,
        "TaskNotifyConfig": to_task_notify_config(spec.notify),
        "TaskPriority": spec.priority,
        "CreateTime": iso(record.created_at),
        "UpdateTime": iso(record.updated_at),
    }
    filled: dict[str, Any] = fill_regions(info, lambda bucket: regions.get(bucket, ""))
    return filled
