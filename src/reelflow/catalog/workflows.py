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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.buckets import Buckets
from reelflow.catalog.egress import check_notify
from reelflow.catalog.templates import Templates
from reelflow.db.models import CustomTemplate, Workflow
from reelflow.db.session import transaction
from reelflow.errors import BucketNotFound, SpecError, WorkflowNotFound
from reelflow.net.egress import EgressPolicy
from reelflow.planner.resolve import resolve_request
from reelflow.presets.catalog import CUSTOM_ID_START
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.templates import TRUSTED
from reelflow.specs.workflows import WorkflowSpec, subtask_inputs, template_references

MAX_PAGE = 100
MAX_IDS = 100
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
    )


class Workflows:
    """``Workflows(sessions, templates, buckets)``: every method is one transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        templates: Templates,
        buckets: Buckets,
        *,
        clock: Callable[[], datetime] | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._buckets = buckets
        self._egress = egress if egress is not None else EgressPolicy()
        self._clock = clock or (lambda: datetime.now(UTC))

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

    def create(
        self, account_id: int, spec: WorkflowSpec, *, enabled: bool = False
    ) -> WorkflowRecord:
        self.validate(account_id, spec)
        with transaction(self._sessions, write=True) as session:
            self._check_name(session, account_id, spec.name, None)
            self._check_templates_still_exist(session, account_id, spec)
            now = self._clock()
            row = Workflow(
                account_id=account_id,
                name=spec.name,
                enabled=enabled,
                trigger_bucket=spec.trigger.bucket,
                spec=spec.to_json(),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return WorkflowRecord.of(row)

    def get(self, account_id: int, workflow_id: int) -> WorkflowRecord:
        with transaction(self._sessions, write=False) as session:
            return WorkflowRecord.of(self._find(session, account_id, workflow_id))

    def replace(self, account_id: int, workflow_id: int, spec: WorkflowSpec) -> WorkflowRecord:
        """Replace the whole definition; the enabled state is kept."""
        self.validate(account_id, spec)
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_id, workflow_id)
            self._check_name(session, account_id, spec.name, workflow_id)
            self._check_templates_still_exist(session, account_id, spec)
            row.name = spec.name
            row.trigger_bucket = spec.trigger.bucket
            row.spec = spec.to_json()
            row.updated_at = self._clock()
            return WorkflowRecord.of(row)

    def delete(self, account_id: int, workflow_id: int) -> None:
        with transaction(self._sessions, write=True) as session:
            session.delete(self._find(session, account_id, workflow_id))

    def enable(self, account_id: int, workflow_id: int) -> WorkflowRecord:
        return self._set_enabled(account_id, workflow_id, True)

    def disable(self, account_id: int, workflow_id: int) -> WorkflowRecord:
        return self._set_enabled(account_id, workflow_id, False)

    def matching(self, bucket: str, key: str) -> builtins.list[WorkflowRecord]:
        """The enabled workflows (of any account) that an upload of ``key`` to ``bucket``
        fires, by id.
        """
        return [r for r in self.enabled_in(bucket) if r.spec.trigger.matches(bucket, key)]

    def enabled_in(self, bucket: str) -> builtins.list[WorkflowRecord]:
        """The enabled workflows (of any account) bound to ``bucket``, by id."""
        query = (
            select(Workflow)
            .where(Workflow.trigger_bucket == bucket, Workflow.enabled)
            .order_by(Workflow.id)
        )
        with transaction(self._sessions, write=False) as session:
            return [WorkflowRecord.of(row) for row in session.scalars(query)]

    @staticmethod
    def request_for(workflow: WorkflowRecord, source: TaskSource) -> TaskRequest:
        """The task request ``workflow`` makes for the upload ``source``."""
        return build_request(workflow.spec, source, workflow.id)

    def list(
        self,
        account_id: int,
        enabled: bool | None = None,
        ids: Iterable[int] | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[builtins.list[WorkflowRecord], int]:
        """One page of the account's workflows by id, and how many match in all."""
        if not 1 <= limit <= MAX_PAGE:
            raise SpecError(f"limit must be 1..{MAX_PAGE}, got {limit}", field="limit")
        if offset < 0:
            raise SpecError(f"offset must be >= 0, got {offset}", field="offset")
        query: Select[Workflow] = select(Workflow).where(Workflow.account_id == account_id)
        if enabled is not None:
            query = query.where(Workflow.enabled == enabled)
        if ids is not None:
            wanted = set(ids)
            if len(wanted) > MAX_IDS:
                raise SpecError(f"at most {MAX_IDS} workflow ids per query", field="ids")
            query = query.where(Workflow.id.in_(wanted))
        with transaction(self._sessions, write=False) as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = query.order_by(Workflow.id).offset(offset).limit(limit)
            return [WorkflowRecord.of(row) for row in session.scalars(page)], total

    # -- helpers --------------------------------------------------------------------------

    def _set_enabled(self, account_id: int, workflow_id: int, enabled: bool) -> WorkflowRecord:
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_id, workflow_id)
            if row.enabled != enabled:
                row.enabled = enabled
                row.updated_at = self._clock()
            return WorkflowRecord.of(row)

    @staticmethod
    def _find(session: Session, account_id: int, workflow_id: int) -> Workflow:
        row = session.get(Workflow, workflow_id)
        if row is None or row.account_id != account_id:
            raise WorkflowNotFound(f"no workflow with id {workflow_id}")
        return row

    def _check_bucket(self, account_id: int, bucket: str, field: str) -> None:
        try:
            self._buckets.check_access(account_id, bucket)
        except BucketNotFound as exc:
            raise SpecError(f"{field}: {exc.message}", code=exc.code, field=field) from None

    @staticmethod
    def _check_name(session: Session, account_id: int, name: str, own_id: int | None) -> None:
        query = select(Workflow.id).where(Workflow.account_id == account_id, Workflow.name == name)
        other = session.scalar(query)
        if other is not None and other != own_id:
            raise SpecError(
                f"name: workflow {other} is already called {name!r}; names are unique",
                code="InvalidParameterValue.WorkflowName",
                field="name",
            )

    @staticmethod
    def _check_templates_still_exist(session: Session, account_id: int, spec: WorkflowSpec) -> None:
        check_templates_still_exist(session, account_id, spec)


def check_templates_still_exist(session: Session, account_id: int, spec: WorkflowSpec) -> None:
    """``SpecError`` if a custom template ``spec`` names is gone (checked in ``session``)."""
    # ``validate`` read the templates in an earlier transaction; a template deleted since
    # then would leave the rule pointing at nothing. Checked again under the lock that
    # ``Templates.delete`` also takes.
    for kind, definition in sorted(template_references(spec.media_process_task)):
        if definition < CUSTOM_ID_START:
            continue
        found = session.scalar(
            select(CustomTemplate.definition).where(
                CustomTemplate.definition == definition,
                CustomTemplate.kind == kind,
                CustomTemplate.account_id == account_id,
            )
        )
        if found is None:
            raise SpecError(
                f"media_process_task: no {kind.value} template with definition {definition}",
                code="ResourceNotFound.TemplateNotExist",
                field="media_process_task",
            )
