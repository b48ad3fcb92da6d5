"""Workflows: an account's upload rules, and the task request each upload becomes.

A workflow is validated when it is created or replaced, with the rules a task request
meets at submission: its buckets exist and belong to the account, and every template it
names resolves for the account (``planner.resolve.resolve_request`` on a stand-in source).
New workflows are disabled, as in the compatible API. Disabling, replacing or deleting a
workflow never touches the tasks it already started (``tasks.workflow_id`` has no foreign key).

Note for upload triggers: with the default output folder (the upload's own folder) a
workflow's outputs land under its own trigger prefix; the trigger must not fire on objects
that reelflow itself wrote, or a workflow whose formats include its outputs loops.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.buckets import Buckets
from reelflow.catalog.definitions import (
    MAX_IDS,
    MAX_PAGE,
    Definitions,
    check_templates_still_exist,
)
from reelflow.catalog.egress import check_notify
from reelflow.catalog.templates import Templates
from reelflow.db.models import Workflow
from reelflow.errors import BucketNotFound, SpecError, WorkflowNotFound
from reelflow.net.egress import EgressPolicy
from reelflow.planner.resolve import resolve_request
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.templates import TRUSTED
from reelflow.specs.workflows import WorkflowSpec, subtask_inputs

__all__ = [
    "MAX_IDS",
    "MAX_PAGE",
    "WorkflowRecord",
    "Workflows",
    "build_request",
    "check_templates_still_exist",
]
# The stand-in upload used to validate a workflow's templates and output paths.
_SAMPLE_NAME = "source.mp4"


@dataclass(frozen=True)
class WorkflowRecord:
    id: int
    account_id: int
    name: str
    enabled: bool
    spec: WorkflowSpec
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Workflow) -> WorkflowRecord:
        return cls(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            enabled=row.enabled,
            spec=WorkflowSpec.model_validate(row.spec, context=TRUSTED),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def build_request(spec: WorkflowSpec, source: TaskSource, workflow_id: int | None) -> TaskRequest:
    """The task request a workflow makes for ``source``: outputs default to the trigger
    bucket (and, through ``TaskRequest``, to the upload's folder).
    """
    return TaskRequest(
        source=source,
        media_process_task=spec.media_process_task,
        output_bucket=spec.output_bucket or spec.trigger.bucket,
        output_dir=spec.output_dir,
        priority=spec.priority,
        workflow_id=workflow_id,
        notify=spec.notify,
        quality=spec.quality,
        regions=spec.regions,
    )


class Workflows(Definitions[Workflow, WorkflowRecord, WorkflowSpec]):
    """``Workflows(sessions, templates, buckets)``: the life cycle of
    ``catalog.definitions``; every method is one transaction."""

    model = Workflow
    noun = "workflow"
    not_found = WorkflowNotFound
    name_code = "InvalidParameterValue.WorkflowName"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        templates: Templates,
        buckets: Buckets,
        *,
        clock: Callable[[], datetime] | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        super().__init__(sessions, clock=clock)
        self._templates = templates
        self._buckets = buckets
        self._egress = egress if egress is not None else EgressPolicy()

    def validate(self, account_id: int, spec: WorkflowSpec) -> None:
        """``SpecError`` naming the field if ``spec`` cannot run for ``account_id``."""
        check_notify(self._egress, spec.notify)
        self._check_bucket(account_id, spec.trigger.bucket, "trigger.bucket")
        if spec.output_bucket:
            self._check_bucket(account_id, spec.output_bucket, "output_bucket")
        for field, item, _kind in subtask_inputs(spec.media_process_task):
            if item.output_storage and item.output_storage.bucket:
                where = f"{field}.output_storage.cos_output_storage.bucket"
                self._check_bucket(account_id, item.output_storage.bucket, where)
        source = TaskSource(
            type="bucket", bucket=spec.trigger.bucket, key=spec.trigger.dir + _SAMPLE_NAME
        )
        resolve_request(build_request(spec, source, None), self._templates.lookup(account_id))

    def matching(self, bucket: str, key: str) -> builtins.list[WorkflowRecord]:
        """The enabled workflows (of any account) that an upload of ``key`` to ``bucket``
        fires, by id.
        """
        return [r for r in self.enabled_in(bucket) if r.spec.trigger.matches(bucket, key)]

    @staticmethod
    def request_for(workflow: WorkflowRecord, source: TaskSource) -> TaskRequest:
        """The task request ``workflow`` makes for the upload ``source``."""
        return build_request(workflow.spec, source, workflow.id)

    def _record(self, row: Workflow) -> WorkflowRecord:
        return WorkflowRecord.of(row)

    def _check_bucket(self, account_id: int, bucket: str, field: str) -> None:
        try:
            self._buckets.check_access(account_id, bucket)
        except BucketNotFound as exc:
            raise SpecError(f"{field}: {exc.message}", code=exc.code, field=field) from None
