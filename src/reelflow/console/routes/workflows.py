"""Workflows: list, create and edit through a form, enable, disable, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from reelflow.catalog.buckets import BucketInfo, Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import MAX_PAGE, WorkflowRecord, Workflows
from reelflow.console.catalog import choices
from reelflow.console.deps import FormDep, SignedIn, UserDep, console_state
from reelflow.console.paging import every_page
from reelflow.console.routing import ConsoleRoute
from reelflow.console.validation import FormErrors, from_spec_error
from reelflow.console.workflow_form import NOTIFY_TYPES, WorkflowForm
from reelflow.errors import SpecError
from reelflow.web.services import BucketsDep, TemplatesDep, WorkflowsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

LIST = "/console/workflows"


def _all(workflows: Workflows, account_id: int) -> list[WorkflowRecord]:
    return every_page(
        lambda offset, limit: workflows.list(account_id, offset=offset, limit=limit),
        page_size=MAX_PAGE,
    )


def _form_page(
    request: Request,
    buckets: Buckets,
    templates: Templates,
    user: SignedIn,
    form: WorkflowForm,
    *,
    workflow: WorkflowRecord | None = None,
    errors: dict[str, str] | None = None,
    bucket_list: list[BucketInfo] | None = None,
) -> Response:
    """The workflow form; ``bucket_list`` is the account's buckets if already listed."""
    if bucket_list is None:
        bucket_list = buckets.list(user.account.id)
    context: dict[str, Any] = {
        "form": form,
        "workflow": workflow,
        "errors": errors or {},
        "buckets": bucket_list,
        "choices": choices(templates, user.account.id),
        "notify_types": NOTIFY_TYPES,
    }
    status = 400 if errors else 200
    pages = console_state(request).pages
    return pages.render(request, "workflow_form.html", context, user=user, status=status)


@router.get("/workflows")
def list_workflows(request: Request, workflows: WorkflowsDep, user: UserDep) -> Response:
    context = {"workflows": _all(workflows, user.account.id)}
    return console_state(request).pages.render(request, "workflows.html", context, user=user)


@router.get("/workflows/new")
def new_workflow(
    request: Request, buckets: BucketsDep, templates: TemplatesDep, user: UserDep
) -> Response:
    bucket_list = buckets.list(user.account.id)
    form = WorkflowForm(trigger_bucket=bucket_list[0].name if bucket_list else "")
    return _form_page(request, buckets, templates, user, form, bucket_list=bucket_list)


@router.post("/workflows")
def create_workflow(
    request: Request,
    workflows: WorkflowsDep,
    buckets: BucketsDep,
    templates: TemplatesDep,
    user: UserDep,
    submitted: FormDep,
) -> Response:
    form = WorkflowForm.from_form(submitted)
    try:
        spec = form.to_spec()
        record = workflows.create(user.account.id, spec, enabled=form.enabled)
    except FormErrors as exc:
        return _form_page(request, buckets, templates, user, form, errors=exc.fields)
    except SpecError as exc:
        errors = from_spec_error(exc, form.field_map).fields
        return _form_page(request, buckets, templates, user, form, errors=errors)
    notice = (
        "ok",
        f"Workflow {record.name!r} created ({'enabled' if record.enabled else 'disabled'}).",
    )
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.get("/workflows/{workflow_id}")
def edit_workflow(
    request: Request,
    workflow_id: int,
    workflows: WorkflowsDep,
    buckets: BucketsDep,
    templates: TemplatesDep,
    user: UserDep,
) -> Response:
    record = workflows.get(user.account.id, workflow_id)
    form = WorkflowForm.from_spec(record.spec, enabled=record.enabled)
    return _form_page(request, buckets, templates, user, form, workflow=record)


@router.post("/workflows/{workflow_id}")
def save_workflow(
    request: Request,
    workflow_id: int,
    workflows: WorkflowsDep,
    buckets: BucketsDep,
    templates: TemplatesDep,
    user: UserDep,
    submitted: FormDep,
) -> Response:
    account_id = user.account.id
    record = workflows.get(account_id, workflow_id)
    form = WorkflowForm.from_form(submitted)
    try:
        spec = form.to_spec()
        record = workflows.replace(account_id, workflow_id, spec)
    except FormErrors as exc:
        return _form_page(
            request, buckets, templates, user, form, workflow=record, errors=exc.fields
        )
    except SpecError as exc:
        errors = from_spec_error(exc, form.field_map).fields
        return _form_page(request, buckets, templates, user, form, workflow=record, errors=errors)
    if form.enabled != record.enabled:
        toggle = workflows.enable if form.enabled else workflows.disable
        record = toggle(account_id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} saved.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.post("/workflows/{workflow_id}/enable")
def enable_workflow(
    request: Request, workflow_id: int, workflows: WorkflowsDep, user: UserDep, form: FormDep
) -> Response:
    record = workflows.enable(user.account.id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} enabled: uploads to its folder now start tasks.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.post("/workflows/{workflow_id}/disable")
def disable_workflow(
    request: Request, workflow_id: int, workflows: WorkflowsDep, user: UserDep, form: FormDep
) -> Response:
    record = workflows.disable(user.account.id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} disabled.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)


@router.post("/workflows/{workflow_id}/delete")
def delete_workflow(
    request: Request, workflow_id: int, workflows: WorkflowsDep, user: UserDep, form: FormDep
) -> Response:
    record = workflows.get(user.account.id, workflow_id)
    if record.enabled:
        # The page offers Delete on disabled workflows only (as the compatible API allows):
        # a workflow that may be starting tasks is stopped on purpose first.
        notice = ("error", f"Workflow {record.name!r} is enabled: disable it before deleting it.")
        return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)
    workflows.delete(user.account.id, workflow_id)
    notice = ("ok", f"Workflow {record.name!r} deleted; the tasks it started are kept.")
    return console_state(request).pages.redirect(request, LIST, user=user, notice=notice)
