"""``/v1/tasks``: submit (``ProcessMedia``), read, list, cancel, retry failed sub-tasks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from reelflow.api.rest.deps import AccountDep, known_query_only
from reelflow.api.rest.schemas.common import MAX_ID, DateTimeQuery, TaskId, error_responses
from reelflow.api.rest.schemas.tasks import (
    TaskCreate,
    TaskCreated,
    TaskDocument,
    TaskOut,
    TaskPage,
    TaskRetried,
)
from reelflow.catalog.accounts import Account
from reelflow.catalog.workflows import Workflows
from reelflow.engine.service import Engine
from reelflow.engine.tasks import RequestBucketNotFound
from reelflow.errors import InvalidKey, SpecError, WorkflowNotFound
from reelflow.object_keys import validate_key
from reelflow.specs.base import spec_error
from reelflow.specs.requests import TaskRequest
from reelflow.specs.states import TaskState
from reelflow.web import convertors
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import EngineDep, WorkflowsDep

convertors.register()  # before the routes below compile "{task_id:segment}"

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/tasks",
    tags=["tasks"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)

_STATES: dict[str, tuple[TaskState, ...]] = {
    "WAITING": (TaskState.QUEUED,),
    "PROCESSING": (TaskState.RUNNING,),
    "FINISH": (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED),
    **{state.value: (state,) for state in TaskState},
}


def _check_key(key: str, field: str) -> None:
    """Refuse a bad object key or folder at submission, naming the field."""
    if not key:
        return
    try:
        validate_key(key)
    except InvalidKey as exc:
        raise SpecError(exc.message, code=exc.code, field=field) from None


def _request(workflows: Workflows, account: Account, body: TaskCreate) -> TaskRequest:
    """The engine's request for ``body``; keys, the workflow and the url's output checked,
    naming their field (the engine checks the buckets: ``_submit`` names theirs)."""
    _check_key(body.input.key, "input.key")
    if body.output is not None and body.output.dir.strip("/"):
        _check_key(body.output.dir.strip("/"), "output.dir")
    source = body.input.to_source()
    output = body.output
    fields: dict[str, object] = {
        "source": source.to_json(),
        "session_id": body.session_id,
        "session_context": body.session_context,
    }
    if body.workflow_id is not None:
        try:
            workflow = workflows.get(account.id, body.workflow_id)
        except WorkflowNotFound as exc:
            raise SpecError(exc.message, code=exc.code, field="workflow_id") from None
        fields = {**workflows.request_for(workflow, source).to_json(), **fields}
    else:
        assert body.media_process_task is not None  # TaskCreate allows exactly one
        fields["media_process_task"] = body.media_process_task.to_json()
        if source.type == "url" and not (output and output.bucket):
            raise SpecError("output.bucket is required when the input is a url", field="output")
    if output is not None and output.bucket:
        fields["output_bucket"] = output.bucket
    if output is not None and output.dir:
        fields["output_dir"] = output.dir
    if body.priority is not None:
        fields["priority"] = body.priority
    if body.notify is not None:
        fields["notify"] = body.notify.to_json()
    if body.quality is not None:
        fields["quality"] = body.quality
    try:
        return TaskRequest.model_validate(fields)
    except ValidationError as exc:
        raise spec_error(exc, "task") from None


@router.post(
    "",
    response_model=TaskCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Start a task on one file (ProcessMedia)",
    responses={
        200: {
            "model": TaskCreated,
            "description": "A repeated session_id: the task "
            "that session already started (within 7 days).",
        },
        **error_responses(404, 413),
    },
)
async def submit_task(
    body: TaskCreate,
    engine: EngineDep,
    workflows: WorkflowsDep,
    account: AccountDep,
    response: Response,
) -> TaskCreated:
    # ``async`` with the database work in one worker thread: FastAPI runs a plain ``def``
    # route in one thread hop and then validates its return value in another.
    task_id, repeated = await run_in_threadpool(_submit, engine, workflows, account, body)
    if repeated:
        response.status_code = status.HTTP_200_OK
    return TaskCreated(task_id=task_id)


def _submit(
    engine: Engine, workflows: Workflows, account: Account, body: TaskCreate
) -> tuple[str, bool]:
    """The task id, and whether it is the earlier task of a repeated ``session_id``."""
    request = _request(workflows, account, body)
    try:
        submitted = engine.submit_task(request, account_id=account.id)
    except RequestBucketNotFound as exc:
        raise _bucket_error(exc, body) from None
    except SpecError as exc:
        if exc.field != "source.url":  # the egress policy's refusal of the url input
            raise
        message = exc.message.replace("source.url", "input.url", 1)
        raise SpecError(message, code=exc.code, field="input.url") from None
    return submitted.task_id, not submitted.created


def _bucket_error(exc: RequestBucketNotFound, body: TaskCreate) -> SpecError:
    """The engine's missing bucket as a 400 naming this API's field."""
    if exc.field == "source.bucket":
        field = "input.bucket"
    elif exc.field == "output_bucket" and body.output is not None and body.output.bucket:
        field = "output.bucket"
    else:  # an output storage inside media_process_task, or the workflow's output bucket
        return SpecError(exc.message, code=exc.code, field="media_process_task")
    return SpecError(f"{field}: {exc.message}", code=exc.code, field=field)


@router.get("", response_model=TaskPage, summary="List tasks, newest first")
def list_tasks(
    engine: EngineDep,
    account: AccountDep,
    state: Annotated[
        list[str] | None,
        Query(
            max_length=len(_STATES),
            description="WAITING, PROCESSING, FINISH or a phase (queued, running, ...); "
            "repeat for several.",
            json_schema_extra={"items": {"type": "string", "enum": list(_STATES)}},
        ),
    ] = None,
    workflow_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    created_after: Annotated[
        DateTimeQuery | None, Query(description="Inclusive; UTC if no zone.")
    ] = None,
    created_before: Annotated[DateTimeQuery | None, Query(description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            max_length=512,
            description="A page's next_cursor, as given (opaque; a made-up one is refused).",
        ),
    ] = None,
) -> TaskPage:
    states: list[TaskState] | None = None
    if state:
        unknown = [s for s in state if s not in _STATES]
        if unknown:
            choices = ", ".join(_STATES)
            raise SpecError(f"unknown state {unknown[0]!r}; use one of {choices}", field="state")
        states = sorted({phase for s in state for phase in _STATES[s]})
    views, next_cursor = engine.list_tasks(
        states,
        workflow_id=workflow_id,
        created_after=_utc(created_after),
        created_before=_utc(created_before),
        limit=limit,
        cursor=cursor or None,
        account_id=account.id,
    )
    return TaskPage(tasks=[TaskOut.of(v) for v in views], next_cursor=next_cursor)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@router.get(
    "/{task_id:segment}",
    response_model=TaskDocument,
    summary="Read one task",
    responses=error_responses(404),
)
def get_task(task_id: TaskId, engine: EngineDep, account: AccountDep) -> TaskDocument:
    return TaskDocument.of(engine.task_view(task_id, account_id=account.id))


@router.post(
    "/{task_id:segment}:cancel",
    response_model=TaskDocument,
    summary="Cancel a waiting or running task",
    responses=error_responses(404, 409),
)
def cancel_task(task_id: TaskId, engine: EngineDep, account: AccountDep) -> TaskDocument:
    engine.cancel(task_id, account_id=account.id)
    return TaskDocument.of(engine.task_view(task_id, account_id=account.id))


@router.post(
    "/{task_id:segment}:retry",
    response_model=TaskRetried,
    summary="Run the failed sub-tasks of a failed task again (succeeded ones are kept)",
    responses=error_responses(404, 409),
)
def retry_task(task_id: TaskId, engine: EngineDep, account: AccountDep) -> TaskRetried:
    retried = engine.retry_failed(task_id, account_id=account.id)
    return TaskRetried(task_id=task_id, retried=retried)
