"""``/v1/workflows``: create, read, replace, delete, list; enable and disable.

Enable and disable are custom methods: ``POST /v1/workflows/{id}:enable`` and
``POST /v1/workflows/{id}:disable`` (idempotent; they return the workflow).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from reelflow.api.rest.deps import AccountDep, known_query_only
from reelflow.api.rest.schemas.common import MAX_ID, IdList, error_responses
from reelflow.api.rest.schemas.workflows import WorkflowCreate, WorkflowOut, WorkflowPage
from reelflow.specs.workflows import WorkflowSpec
from reelflow.web import convertors
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import OutboxRecordsDep, WorkflowsDep

convertors.register()  # before the routes below compile "{workflow_id:segment}"

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/workflows",
    tags=["workflows"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)
WorkflowId = Annotated[int, Path(ge=1, le=MAX_ID)]
_BY_ID = "/{workflow_id:segment}"


@router.post(
    "",
    response_model=WorkflowOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a workflow (disabled unless enabled=true)",
    responses=error_responses(404, 413),
)
def create_workflow(
    body: WorkflowCreate, workflows: WorkflowsDep, account: AccountDep
) -> WorkflowOut:
    record = workflows.create(account.id, body.spec(), enabled=body.enabled)
    return WorkflowOut.of(record)


@router.get("", response_model=WorkflowPage, summary="List workflows by id")
def list_workflows(
    workflows: WorkflowsDep,
    account: AccountDep,
    enabled: bool | None = None,
    id: Annotated[IdList | None, Query(max_length=100, description="Repeat for several.")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> WorkflowPage:
    records, total = workflows.list(account.id, enabled=enabled, ids=id, offset=offset, limit=limit)
    return WorkflowPage(
        workflows=[WorkflowOut.of(r) for r in records], total=total, offset=offset, limit=limit
    )


@router.get(
    _BY_ID, response_model=WorkflowOut, summary="Read a workflow", responses=error_responses(404)
)
def get_workflow(
    workflow_id: WorkflowId,
    workflows: WorkflowsDep,
    outbox_records: OutboxRecordsDep,
    account: AccountDep,
) -> WorkflowOut:
    workflow = WorkflowOut.of(workflows.get(account.id, workflow_id))
    error = outbox_records.workflow_error(workflow_id)
    return workflow.model_copy(update={"last_notify_error": error})


@router.put(
    _BY_ID,
    response_model=WorkflowOut,
    summary="Replace a workflow's definition (its enabled state is kept)",
    responses=error_responses(404, 413),
)
def replace_workflow(
    workflow_id: WorkflowId, body: WorkflowSpec, workflows: WorkflowsDep, account: AccountDep
) -> WorkflowOut:
    return WorkflowOut.of(workflows.replace(account.id, workflow_id, body))


@router.delete(
    _BY_ID,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a workflow",
    responses=error_responses(404),
)
def delete_workflow(
    workflow_id: WorkflowId, workflows: WorkflowsDep, account: AccountDep
) -> Response:
    workflows.delete(account.id, workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    _BY_ID + ":enable",
    response_model=WorkflowOut,
    summary="Enable a workflow",
    responses=error_responses(404),
)
def enable_workflow(
    workflow_id: WorkflowId, workflows: WorkflowsDep, account: AccountDep
) -> WorkflowOut:
    return WorkflowOut.of(workflows.enable(account.id, workflow_id))


@router.post(
    _BY_ID + ":disable",
    response_model=WorkflowOut,
    summary="Disable a workflow",
    responses=error_responses(404),
)
def disable_workflow(
    workflow_id: WorkflowId, workflows: WorkflowsDep, account: AccountDep
) -> WorkflowOut:
    return WorkflowOut.of(workflows.disable(account.id, workflow_id))
