"""``/v1/workflows``: the body is a ``WorkflowSpec`` (snake_case or PascalCase); the
response adds the id, the enabled flag and the times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from reelflow.api.rest.schemas.common import ResponseModel
from reelflow.catalog.workflows import WorkflowRecord
from reelflow.specs.workflows import WorkflowSpec


class WorkflowCreate(WorkflowSpec):
    """A new workflow; disabled unless ``enabled`` is true (as the compatible API)."""

    enabled: bool = False

    def spec(self) -> WorkflowSpec:
        return WorkflowSpec.model_validate({f: getattr(self, f) for f in WorkflowSpec.model_fields})


class TriggerOut(ResponseModel):
    """A workflow's trigger: uploads to `bucket` under the folder `dir` whose extension is in
    `formats` (empty: common video and audio extensions)."""

    bucket: str
    dir: str
    formats: list[str]


class WorkflowOut(ResponseModel):
    """A workflow: its definition, whether it is enabled, and when it was created and changed."""

    id: int
    name: str
    enabled: bool
    trigger: TriggerOut
    media_process_task: dict[str, Any]
    output_bucket: str
    output_dir: str
    notify: dict[str, Any] | None
    priority: int
    quality: bool = Field(
        default=False, description="The tasks score their video renditions (VMAF, PSNR, SSIM)."
    )
    created_at: datetime
    updated_at: datetime
    last_notify_error: str | None = Field(
        default=None,
        description="Read of one workflow only: the latest error of a notification of its "
        "tasks that is not delivered yet (see /v1/deliveries?workflow_id=); null when they "
        "flow.",
    )

    @classmethod
    def of(cls, record: WorkflowRecord) -> WorkflowOut:
        spec = record.spec
        return cls(
            id=record.id,
            name=record.name,
            enabled=record.enabled,
            trigger=TriggerOut(
                bucket=spec.trigger.bucket, dir=spec.trigger.dir, formats=list(spec.trigger.formats)
            ),
            media_process_task=spec.media_process_task.to_json(),
            output_bucket=spec.output_bucket,
            output_dir=spec.output_dir,
            notify=spec.notify.to_json() if spec.notify is not None else None,
            priority=spec.priority,
            quality=spec.quality,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class WorkflowPage(ResponseModel):
    """One page of the account's workflows by id, and how many match in all."""

    workflows: list[WorkflowOut]
    total: int
    offset: int
    limit: int
