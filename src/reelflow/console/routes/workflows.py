"""Workflows: list, create and edit through a form, enable, disable, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from reelflow.catalog.buckets import BucketInfo
from reelflow.catalog.workflows import MAX_PAGE, WorkflowRecord
from reelflow.console.catalog import choices
from reelflow.console.deps import FormDep, RuntimeDep, SignedIn, UserDep, console_state
from reelflow.console.paging import every_page
from reelflow.console.routing import ConsoleRoute
from reelflow.console.validation import FormErrors, from_spec_error
from reelflow.console.workflow_form import FIELDS, JSON_FIELDS, NOTIFY_TYPES, WorkflowForm
from reelflow.errors import SpecError
from reelflow.runtime import Runtime

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

LIST = "/console/workflows"


def _all(runtime: Runtime, account_id: int) -> list[WorkflowRecord]:
    return every_page(
        lambda offset, limit: runtime.workflows.list(account_id, offset=offset, limit=limit),
        page_size=MAX_PAGE,
    )


def _form_page(
    request: Request,
    runtime: RuntimeDep,
    user: SignedIn,
    form: WorkflowForm,
    *,
    workflow: WorkflowRecord | None = None,
    errors: dict[str, str] | None = None,
    buckets: list[BucketInfo] | None = None,
) -> Response:
    if buckets is None:
        buckets = runtime.buckets.list(user.account.id)
    context: dict[str, Any] = {
        "form": form,
        "workflow": workflow,
        "errors": errors or {},
        "buckets": buckets,
        "choices": choices(runtime, user.account.id),
        "notify_types": NOTIFY_TYPES,
    }
    status = 400 if errors else 200
    pages = console_state(request).pages
    return pages.render(request, "workflow_form.html", context, user=user, status=status)


@router.get("/workflows")
def list_workflows(request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    context = {"workflows": _all(runtime, user.account.id)}
    return console_state(request).pages.render(request, "workflows.html", context, user=user)


@router.get("/workflows/new")
def new_workflow(request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    buckets = runtime.buckets.list(user.account.id)
    form = WorkflowForm(trigger_bucket=buckets[0].name if buckets else "")
    return _form_page(request, runtime, user, form, buckets=buckets)


@router.post("/workflows")
def create_workflow(
    request: Request, runtime: RuntimeDep, user: UserDep, submitted: FormDep
) -> Response:
    form = WorkflowForm.from_form(submitted)
    try:
        spec = form.to_spec()
        record = runtime.workflows.create(user.account.id, spec, enabled=form.enabled)
    except FormErrors as exc:
        return _form_page(request, runtime, user, form, errors=exc.fields)
    except SpecError as exc:
        mapping = JSON_FIELDS if form.json_mode else FIELDS
        return _form_page(request, runtime, user, form, errors=from_spec_error(exc, mapping).fields)
    notice = (
        "ok",
        f"Workflow {record.name!r} created ({'enabled' if record.enabled else 'disabled'}).",
    )
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.get("/workflows/{workflow_id}")
def edit_workflow(
    request: Request, workflow_id: int, runtime: RuntimeDep, user: UserDep
) -> Response:
    record = runtime.workflows.get(user.account.id, workflow_id)
    form = WorkflowForm.from_spec(record.spec, enabled=record.enabled)
    return _form_page(request, runtime, user, form, workflow=record)


@router.post("/workflows/{workflow_id}")
def save_workflow(
    request: Request, workflow_id: int, runtime: RuntimeDep, user: UserDep, submitted: FormDep
) -> Response:
    account_id = user.account.id
    record = runtime.workflows.get(account_id, workflow_id)
    form = WorkflowForm.from_form(submitted)
    try:
        spec = form.to_spec()
        record = runtime.workflows.replace(account_id, workflow_id, spec)
    except FormErrors as exc:
        return _form_page(request, runtime, user, form, workflow=record, errors=exc.fields)
    except SpecError as exc:
        mapping = JSON_FIELDS if form.json_mode else FIELDS
        errors = from_spec_error(exc, mapping).fields
        return _form_page(request, runtime, user, form, workflow=record, errors=errors)
    if form.enabled != record.enabled:
        toggle = runtime.workflows.enable if form.enabled else runtime.workflows.disable
        record = toggle(account_id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} saved.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.post("/workflows/{workflow_id}/enable")
def enable_workflow(
    request: Request, workflow_id: int, runtime: RuntimeDep, user: UserDep, form: FormDep
) -> Response:
    record = runtime.workflows.enable(user.account.id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} enabled: uploads to its folder now start tasks.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.post("/workflows/{workflow_id}/disable")
def disable_workflow(
    request: Request, workflow_id: int, runtime: RuntimeDep, user: UserDep, form: FormDep
) -> Response:
    record = runtime.workflows.disable(user.account.id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} disabled.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.post("/workflows/{workflow_id}/delete")
def delete_workflow(
    request: Request, workflow_id: int, runtime: RuntimeDep, user: UserDep, form: FormDep
) -> Response:
    record = runtime.workflows.get(user.account.id, workflow_id)
    if record.enabled:
        # The page offers Delete on disabled workflows only (as the compatible API allows):
        # a workflow that may be starting tasks is stopped on purpose first.
        notice = ("error", f"Workflow {record.name!r} is enabled: disable it before deleting it.")
        return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)
    runtime.workflows.delete(user.account.id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} deleted; the tasks it started are kept.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)
