"""Tasks: a filtered list with live progress, and one task drawn as a diagram with its
outputs, errors and event deliveries; cancel and retry-failed buttons.

Live parts are fragments (``_task_rows.html``, ``_task_live.html``, ``_task_events.html``)
that htmx polls while something can still change; a fragment for a finished task carries no
poll trigger, so polling stops by itself.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from reelflow.catalog.workflows import MAX_PAGE, Workflows
from reelflow.console.deps import FormDep, SignedIn, UserDep, console_state
from reelflow.console.diagram import tall, wide
from reelflow.console.previews import previews
from reelflow.console.quality import quality_panels
from reelflow.console.routing import ConsoleRoute
from reelflow.engine.service import Engine
from reelflow.engine.views import TaskView
from reelflow.errors import StateError
from reelflow.notify.records import OutboxRecords
from reelflow.specs.events import DeliveryState
from reelflow.specs.states import TaskState
from reelflow.web.services import EngineDep, OutboxRecordsDep, WorkflowsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE = 25
FILTERS: dict[str, tuple[TaskState, ...]] = {
    "": (),
    "active": (TaskState.QUEUED, TaskState.RUNNING),
    **{state.value: (state,) for state in TaskState},
}

StateQuery = Annotated[str, Query(max_length=16)]
WorkflowQuery = Annotated[int | None, Query(ge=1)]
CursorQuery = Annotated[str, Query(max_length=512)]


def task_progress(task: TaskView) -> float:
    """The mean progress of the sub-tasks (finished ones count as 100)."""
    if not task.subtasks:
        return 100.0 if task.state.is_terminal else 0.0
    done = [100.0 if s.state.is_terminal else s.progress for s in task.subtasks]
    return sum(done) / len(done)


def _rows_context(
    engine: Engine, user: SignedIn, state: str, workflow: int | None, cursor: str
) -> dict[str, Any]:
    states = FILTERS.get(state, ())
    tasks, next_cursor = engine.list_tasks(
        states or None,
        workflow_id=workflow,
        limit=PAGE,
        cursor=cursor or None,
        account_id=user.account.id,
    )
    query = {"state": state, **({"workflow": str(workflow)} if workflow else {})}
    return {
        "tasks": tasks,
        "progress": task_progress,
        "state": state,
        "workflow": workflow,
        "cursor": cursor,
        "next_cursor": next_cursor,
        "query": urlencode(query),
        "live": any(not t.state.is_terminal for t in tasks) or not cursor,
    }


@router.get("/tasks")
def list_tasks(
    request: Request,
    engine: EngineDep,
    workflows: WorkflowsDep,
    user: UserDep,
    state: StateQuery = "",
    workflow: WorkflowQuery = None,
    cursor: CursorQuery = "",
) -> Response:
    context = _rows_context(engine, user, state, workflow, cursor)
    context["filters"] = tuple(FILTERS)
    context["workflows"], _ = workflows.list(user.account.id, limit=MAX_PAGE)
    return console_state(request).pages.render(request, "tasks.html", context, user=user)


@router.get("/tasks/rows")
def task_rows(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    state: StateQuery = "",
    workflow: WorkflowQuery = None,
    cursor: CursorQuery = "",
) -> Response:
    context = _rows_context(engine, user, state, workflow, cursor)
    pages = console_state(request).pages
    return pages.render(request, "_task_rows.html", context, user=user, fragment=True)


def _task_context(
    engine: Engine, workflows: Workflows, user: SignedIn, task_id: str
) -> dict[str, Any]:
    task = engine.task_view(task_id, account_id=user.account.id)
    chunks = engine.chunk_marks(task.id) if not task.state.is_terminal else {}
    workflow = None
    if task.workflow_id is not None:
        found, _ = workflows.list(user.account.id, ids=[task.workflow_id], limit=1)
        workflow = found[0] if found else None
    return {
        "task": task,
        "workflow": workflow,
        "diagrams": (wide(task, chunks), tall(task, chunks)),
        "previews": {sub.index: previews(sub) for sub in task.subtasks},
        "qualities": {
            sub.index: quality_panels(sub.quality, sub.rung_quality) for sub in task.subtasks
        },
        "progress": task_progress(task),
        "url": f"/console/tasks/{quote(task.id, safe='')}",
    }


def _events_context(
    outbox_records: OutboxRecords, user: SignedIn, task: TaskView
) -> dict[str, Any]:
    """The task's events and deliveries; polled until the task is over and nothing is
    left to send."""
    events = outbox_records.task_events(task.id, account_id=user.account.id)
    pending = any(d.state is DeliveryState.PENDING for event in events for d in event.deliveries)
    return {
        "events": events,
        "events_poll": pending or not task.state.is_terminal,
        "events_url": f"/console/tasks/{quote(task.id, safe='')}/events",
    }


@router.get("/tasks/{task_id}")
def show_task(
    request: Request,
    task_id: str,
    engine: EngineDep,
    workflows: WorkflowsDep,
    outbox_records: OutboxRecordsDep,
    user: UserDep,
) -> Response:
    state = console_state(request)
    context = _task_context(engine, workflows, user, task_id)
    context.update(_events_context(outbox_records, user, context["task"]), players=state.players)
    return state.pages.render(request, "task.html", context, user=user)


@router.get("/tasks/{task_id}/live")
def task_live(
    request: Request, task_id: str, engine: EngineDep, workflows: WorkflowsDep, user: UserDep
) -> Response:
    state = console_state(request)
    context = _task_context(engine, workflows, user, task_id)
    context["players"] = state.players
    return state.pages.render(request, "_task_live.html", context, user=user, fragment=True)


@router.get("/tasks/{task_id}/events")
def task_events(
    request: Request,
    task_id: str,
    engine: EngineDep,
    outbox_records: OutboxRecordsDep,
    user: UserDep,
) -> Response:
    task = engine.task_view(task_id, account_id=user.account.id)
    context = _events_context(outbox_records, user, task)
    pages = console_state(request).pages
    return pages.render(request, "_task_events.html", context, user=user, fragment=True)


@router.post("/tasks/{task_id}/cancel")
def cancel_task(
    request: Request, task_id: str, engine: EngineDep, user: UserDep, form: FormDep
) -> Response:
    notice = ("ok", "Task cancelled.")
    try:
        engine.cancel(task_id, account_id=user.account.id)
    except StateError as exc:
        notice = ("error", exc.message)
    target = f"/console/tasks/{quote(task_id, safe='')}"
    return console_state(request).pages.redirect(request, target, user=user, notice=notice)


@router.post("/tasks/{task_id}/retry")
def retry_task(
    request: Request, task_id: str, engine: EngineDep, user: UserDep, form: FormDep
) -> Response:
    try:
        retried = engine.retry_failed(task_id, account_id=user.account.id)
        notice = ("ok", f"Retrying {len(retried)} failed sub-task(s).")
    except StateError as exc:
        notice = ("error", exc.message)
    target = f"/console/tasks/{quote(task_id, safe='')}"
    return console_state(request).pages.redirect(request, target, user=user, notice=notice)
