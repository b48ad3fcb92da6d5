"""``POST /``: the compatible API's action endpoint (mps-api.md §2).

    X-TC-Action: ProcessMedia        the action (``actions.ACTIONS``)
    X-TC-Version: 2019-06-12         the only version offered
    X-TC-Region, X-TC-Timestamp, Authorization (TC3-HMAC-SHA256), JSON body

``GET /`` (and ``HEAD``) is not an action: a browser (``Accept: text/html``) is sent to
the console, anything else (the SDK with ``reqMethod="GET"``, curl) gets the error envelope
``UnsupportedOperation`` saying what is offered, so a client parsing JSON reads the reason.
A POST signed the legacy way (the SDK's ``signMethod="HmacSHA256"``/``"HmacSHA1"``: a form
body carrying ``Signature``, no ``Authorization`` header) gets the same answer.

Order of checks: legacy signing (``UnsupportedOperation``), signature (``AuthFailure.*``),
version (``MissingParameter`` / ``InvalidParameterValue``), action (``InvalidAction``), body
(``InvalidParameter``), then the action's own. Every answer is an envelope with HTTP 200
(``envelope.py``); nothing raised here reaches the native API's error handlers.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from reelflow.api.mps.actions import ACTIONS
from reelflow.api.mps.context import ActionContext, ActionServices
from reelflow.api.mps.envelope import (
    INTERNAL_ERROR,
    MpsError,
    error_reply,
    from_reelflow,
    reply,
)
from reelflow.api.mps.params import UNSUPPORTED, Params, missing, parse_body
from reelflow.api.mps.signature import verify
from reelflow.errors import ReelflowError
from reelflow.web.services import (
    AccountsDep,
    BucketsDep,
    EngineDep,
    SchedulesDep,
    SourceProbeDep,
    StoragesDep,
    TemplatesDep,
    UrlReaderDep,
    WorkflowsDep,
)

logger = logging.getLogger(__name__)

VERSION = "2019-06-12"
INVALID_ACTION = "InvalidAction"

router = APIRouter(include_in_schema=False)


@router.post("/")
async def action_endpoint(
    request: Request,
    accounts: AccountsDep,
    buckets: BucketsDep,
    storages: StoragesDep,
    templates: TemplatesDep,
    workflows: WorkflowsDep,
    schedules: SchedulesDep,
    engine: EngineDep,
    probe: SourceProbeDep,
    read_url: UrlReaderDep,
) -> Response:
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    services = ActionServices(
        accounts=accounts,
        buckets=buckets,
        storages=storages,
        templates=templates,
        workflows=workflows,
        schedules=schedules,
        engine=engine,
        probe=probe,
        read_url=read_url,
    )
    call = functools.partial(handle, services, headers, body, now=time.time())
    return await anyio.to_thread.run_sync(call)


NOT_OFFERED = (
    "GET requests and the legacy HmacSHA1/HmacSHA256 signatures are not supported: send the "
    "action as a JSON POST to / signed with TC3-HMAC-SHA256 (the SDK's default profile: "
    'HttpProfile(reqMethod="POST"), ClientProfile(signMethod="TC3-HMAC-SHA256")); '
    "browsers are sent to /console"
)


@router.api_route("/", methods=["GET", "HEAD"])
async def get_root(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/console", status_code=307)
    return error_reply(MpsError(UNSUPPORTED, NOT_OFFERED), str(uuid.uuid4()))


def handle(
    services: ActionServices, headers: Mapping[str, str], body: bytes, *, now: float
) -> Response:
    """Answer one action request (headers keyed by lower-case name); never raises."""
    request_id = str(uuid.uuid4())
    try:
        answer = dispatch(services, headers, body, now)
    except MpsError as exc:
        return error_reply(exc, request_id)
    except ReelflowError as exc:
        if exc.retryable:
            logger.warning("action %s: %s", headers.get("x-tc-action"), exc)
        return error_reply(from_reelflow(exc), request_id)
    except Exception:
        logger.exception("action %s failed (request id %s)", headers.get("x-tc-action"), request_id)
        message = f"internal error; the server log has the details (request id {request_id})"
        return error_reply(MpsError(INTERNAL_ERROR, message), request_id)
    return reply(answer, request_id)


def legacy_signed(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a request is signed the legacy way: a form body with a ``Signature`` field
    and no ``Authorization`` header (the SDK's ``signMethod="HmacSHA256"``/``"HmacSHA1"``)."""
    if headers.get("authorization"):
        return False
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return False
    return any(field.startswith(b"Signature=") for field in body.split(b"&"))


def dispatch(
    services: ActionServices, headers: Mapping[str, str], body: bytes, now: float
) -> dict[str, Any]:
    if legacy_signed(headers, body):
        raise MpsError(UNSUPPORTED, NOT_OFFERED)
    account = verify("POST", "", headers, body, services.accounts.secret_for, now)
    version = headers.get("x-tc-version", "").strip()
    if not version:
        raise missing("X-TC-Version")
    if version != VERSION:
        raise MpsError(
            "InvalidParameterValue",
            f"X-TC-Version {version!r} is not offered; reelflow implements {VERSION}",
        )
    action = headers.get("x-tc-action", "").strip()
    if not action:
        raise missing("X-TC-Action")
    handler = ACTIONS.get(action)
    if handler is None:
        raise MpsError(
            INVALID_ACTION,
            f"action {action!r} does not exist or is not offered by reelflow "
            "(docs/mps-compat.md lists the actions)",
        )
    context = ActionContext(services, account, headers.get("x-tc-region", "").strip())
    return handler(context, Params(parse_body(body)))
