"""Buckets: browse by folder, delete an object, run a workflow on one (the API's
``ProcessMedia`` with the workflow's task). Uploads and downloads are in ``objects``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from reelflow.catalog.workflows import MAX_PAGE
from reelflow.console.deps import FormDep, UserDep, console_state
from reelflow.console.folders import list_folder, normalize_prefix
from reelflow.console.routing import ConsoleRoute
from reelflow.errors import SpecError, WorkflowNotFound
from reelflow.object_keys import validate_key
from reelflow.specs.requests import TaskSource
from reelflow.web.services import BucketsDep, EngineDep, StoragesDep, WorkflowsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def folder_url(bucket: str, prefix: str) -> str:
    url = f"/console/buckets/{quote(bucket, safe='')}"
    return f"{url}?prefix={quote(prefix, safe='')}" if prefix else url


@router.get("/buckets")
def list_buckets(request: Request, buckets: BucketsDep, user: UserDep) -> Response:
    context = {"buckets": buckets.list(user.account.id)}
    return console_state(request).pages.render(request, "buckets.html", context, user=user)


@router.get("/buckets/{bucket}")
def browse(
    request: Request,
    bucket: str,
    workflows: WorkflowsDep,
    buckets: BucketsDep,
    storages: StoragesDep,
    user: UserDep,
    prefix: Annotated[str, Query(max_length=1024)] = "",
    after: Annotated[str, Query(max_length=1100)] = "",
) -> Response:
    buckets.check_access(user.account.id, bucket)
    storage = storages.get(bucket)
    listing = list_folder(storage, prefix, after)
    records, _ = workflows.list(user.account.id, limit=MAX_PAGE)
    context = {
        "bucket": bucket,
        "listing": listing,
        "workflows": records,
        "folder_url": folder_url,
    }
    return console_state(request).pages.render(request, "bucket.html", context, user=user)


@router.post("/buckets/{bucket}/delete")
def delete_object(
    request: Request,
    bucket: str,
    buckets: BucketsDep,
    storages: StoragesDep,
    user: UserDep,
    form: FormDep,
) -> Response:
    buckets.check_access(user.account.id, bucket)
    key = validate_key(form.get("key"))
    storages.get(bucket).delete(key)
    back = folder_url(bucket, normalize_prefix(form.get("prefix")))
    notice = ("ok", f"Deleted {key}.")
    return console_state(request).pages.redirect(request, back, user=user, notice=notice)


@router.post("/buckets/{bucket}/process")
def process_object(
    request: Request,
    bucket: str,
    workflows: WorkflowsDep,
    buckets: BucketsDep,
    engine: EngineDep,
    user: UserDep,
    form: FormDep,
) -> Response:
    """Start the chosen workflow's task on one object, whatever its trigger folder."""
    account_id = user.account.id
    buckets.check_access(account_id, bucket)
    key = validate_key(form.get("key"))
    try:
        workflow = workflows.get(account_id, int(form.get("workflow_id") or "0"))
    except (ValueError, WorkflowNotFound):
        raise SpecError("choose one of your workflows", field="workflow_id") from None
    source = TaskSource(type="bucket", bucket=bucket, key=key)
    request_ = workflows.request_for(workflow, source)
    task_id = engine.submit(request_, account_id=account_id)
    notice = ("ok", f"Started workflow {workflow.name!r} on {key}.")
    target = f"/console/tasks/{quote(task_id, safe='')}"
    return console_state(request).pages.redirect(request, target, user=user, notice=notice)
