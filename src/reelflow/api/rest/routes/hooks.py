"""``POST /v1/hooks/s3``: S3 event notifications (AWS, MinIO...) start workflows.

See :mod:`reelflow.triggers.s3_events` for the accepted JSON and the authentication: a
bucket's ``hook_token`` from ``reelflow.toml`` or an API key of the bucket's owner, sent as
``Authorization: Bearer <token>`` (a bare token, as some MinIO versions send it, works too).
"""

from __future__ import annotations

import json
from collections import defaultdict

from anyio import to_thread
from fastapi import APIRouter, Request

from reelflow.api.rest.deps import known_query_only
from reelflow.api.rest.schemas.common import error_responses
from reelflow.api.rest.schemas.hooks import HookIgnored, HookResult, HookTask
from reelflow.catalog.accounts import Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.errors import SpecError
from reelflow.triggers.base import ObjectNotice
from reelflow.triggers.dispatch import Fired
from reelflow.triggers.s3_events import parse_event, resolve, token_buckets
from reelflow.triggers.service import TriggerService
from reelflow.web.errors import HttpError
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import AccountsDep, BucketsDep, TriggersDep

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/hooks",
    tags=["hooks"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)
_S3_EVENT = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "An S3 event notification: `Records`, each with "
                "`eventName`, `s3.bucket.name` and `s3.object.key`.",
                "required": ["Records"],
                "properties": {"Records": {"type": "array", "items": {"type": "object"}}},
            }
        }
    },
}
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "").strip()
    scheme, _, rest = header.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else header
    if not token:
        raise HttpError(
            401,
            "AuthFailure.InvalidAuthorization",
            "send the bucket's hook_token or its owner's API key: 'Authorization: Bearer <token>'",
            headers=_CHALLENGE,
        )
    return token


def _allowed(
    triggers: TriggerService, accounts: Accounts, buckets: Buckets, token: str
) -> set[str]:
    targets = triggers.s3_targets
    allowed = token_buckets(token, targets)
    if allowed:
        return allowed
    account = accounts.authenticate(token)
    if account is None:
        raise HttpError(
            401,
            "AuthFailure.SecretIdNotFound",
            "the token is no bucket's hook_token and no active API key",
            headers=_CHALLENGE,
        )
    return {t.name for t in targets if buckets.owner(t.name) == account.id}


def _receive(
    triggers: TriggerService, accounts: Accounts, buckets: Buckets, token: str, body: object
) -> HookResult:
    records = parse_event(body)
    allowed = _allowed(triggers, accounts, buckets, token)
    resolved = resolve(records, triggers.s3_targets)
    refused = sorted(resolved.buckets - allowed)
    if refused:
        raise HttpError(
            403,
            "AuthFailure.UnauthorizedOperation",
            f"this token may not trigger bucket(s) {', '.join(refused)}; nothing was started",
        )
    by_bucket: dict[str, list[ObjectNotice]] = defaultdict(list)
    for notice in resolved.notices:
        by_bucket[notice.bucket].append(notice)
    fired: list[Fired] = []
    for bucket, notices in by_bucket.items():
        fired += triggers.dispatcher.fire_many(bucket, notices)
    tasks = [(f.new, HookTask(bucket=f.bucket, key=f.key, workflow_id=f.workflow_id,
                              task_id=f.task_id)) for f in fired]  # fmt: skip
    return HookResult(
        records=len(records),
        started=[task for new, task in tasks if new],
        duplicates=[task for new, task in tasks if not new],
        ignored=[HookIgnored(record=i, reason=reason) for i, reason in resolved.ignored],
    )


@router.post(
    "/s3",
    response_model=HookResult,
    summary="Receive an S3 event notification (ObjectCreated records start workflows)",
    responses=error_responses(403, 413),
    openapi_extra={"requestBody": _S3_EVENT},
)
async def s3_event(
    request: Request, triggers: TriggersDep, accounts: AccountsDep, buckets: BucketsDep
) -> HookResult:
    token = _token(request)
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SpecError(
            "the body is not JSON", code="InvalidParameter.MalformedJSON", field="body"
        ) from None
    result: HookResult = await to_thread.run_sync(
        _receive, triggers, accounts, buckets, token, body
    )
    return result
