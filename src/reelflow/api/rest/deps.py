"""Dependencies of the routes, as ``Annotated`` aliases.

Dependencies that only read memory are ``async`` (FastAPI would run a plain ``def`` in a
worker thread: a thread hop per dependency per request); those that query the database are
plain functions, so they never block the event loop.

Every service comes from ``app.state``, one dependency each (``reelflow.web.services``):
no globals. Authentication is ``Authorization: Bearer <secret_key>``; a missing or malformed
header is
``AuthFailure.InvalidAuthorization`` and an unknown or revoked key
``AuthFailure.SecretIdNotFound`` (the code the compatible API gives an unknown key), both
401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelflow.api.rest.metrics import ServiceMetrics
from reelflow.catalog.accounts import Account
from reelflow.errors import SpecError
from reelflow.object_keys import validate_key
from reelflow.storage.base import Storage
from reelflow.web.errors import HttpError
from reelflow.web.services import AccountsDep, BucketsDep, SettingsDep, StoragesDep

#: What a bucket name may be (``validate_bucket_name`` has the same rule and says why not).
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Declares the scheme in OpenAPI (the "Authorize" button of /docs); the header is parsed
# below so that a missing and a malformed header get their own messages.
_bearer = HTTPBearer(auto_error=False, description="An API key's secret: `Bearer <secret_key>`")


async def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]


def current_account(
    request: Request,
    accounts: AccountsDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Account:
    header = request.headers.get("authorization")
    if not header:
        raise HttpError(
            401,
            "AuthFailure.InvalidAuthorization",
            "this request needs an API key: send 'Authorization: Bearer <secret_key>'",
            headers=_CHALLENGE,
        )
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise HttpError(
            401,
            "AuthFailure.InvalidAuthorization",
            "the Authorization header must be 'Bearer <secret_key>'",
            headers=_CHALLENGE,
        )
    account = accounts.authenticate(secret)
    if account is None:
        raise HttpError(
            401,
            "AuthFailure.SecretIdNotFound",
            "no active API key has this secret (unknown or revoked)",
            headers=_CHALLENGE,
        )
    return account


AccountDep = Annotated[Account, Depends(current_account)]


async def admin_account(account: AccountDep) -> Account:
    if not account.is_admin:
        raise HttpError(
            403, "AuthFailure.UnauthorizedOperation", "this needs an admin account's API key"
        )
    return account


AdminDep = Annotated[Account, Depends(admin_account)]


def metrics_scraper(
    request: Request,
    settings: SettingsDep,
    accounts: AccountsDep,
    scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Who may read ``/metrics``: anyone when ``metrics_public``; else a bearer of the
    dedicated ``REELFLOW_METRICS_TOKEN`` or of an admin API key (401/403 otherwise)."""
    if settings.metrics_public:
        return
    token = settings.metrics_token.get_secret_value()
    offered = scheme.credentials.strip() if scheme is not None else ""
    if token and offered and hmac.compare_digest(offered.encode(), token.encode()):
        return
    if not request.headers.get("authorization"):
        raise HttpError(
            401,
            "AuthFailure.InvalidAuthorization",
            "/metrics needs 'Authorization: Bearer <token>' with REELFLOW_METRICS_TOKEN or an "
            "admin API key (or metrics_public = true in reelflow.toml)",
            headers=_CHALLENGE,
        )
    account = current_account(request, accounts, scheme)
    if not account.is_admin:
        raise HttpError(
            403,
            "AuthFailure.UnauthorizedOperation",
            "/metrics needs REELFLOW_METRICS_TOKEN or an admin account's API key",
        )


MetricsScraper = Depends(metrics_scraper)


BucketName = Annotated[
    str,
    # The pattern is stated, not enforced here: a name no bucket can have is not found (404).
    Path(description="Bucket name.", json_schema_extra={"pattern": BUCKET_PATTERN}),
]


def account_bucket(
    buckets: BucketsDep, storages: StoragesDep, account: AccountDep, bucket: BucketName
) -> Storage:
    """The bucket named in the path if the account owns it, else ``BucketNotFound`` (404,
    the same for another account's bucket and for one that does not exist)."""
    buckets.check_access(account.id, bucket)
    return storages.get(bucket)


BucketDep = Annotated[Storage, Depends(account_bucket)]


# Part of validate_key's rule, as a pattern: no control characters or backslashes. The rest
# (no '.'/'..' or empty segments, byte limits...) is checked, with a 400 naming the key.
KEY_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\\]+$"


async def object_key(
    key: Annotated[
        str,
        Path(
            description="Object key (may contain '/'; at most 1024 UTF-8 bytes).",
            json_schema_extra={"pattern": KEY_PATTERN},
        ),
    ],
) -> str:
    """The key in the path, validated (``InvalidParameterValue.Key`` says why not)."""
    return validate_key(key)


KeyDep = Annotated[str, Depends(object_key)]


_QUERY_NAMES = "_reelflow_query_names"  # cached on the route: routes are not hashable


async def _known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not declare (``UnknownParameter``), as an
    unknown body field is: a misspelt ``limt=5`` is not silently ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names: frozenset[str] | None = getattr(route, _QUERY_NAMES, None)
    if names is None:
        names = frozenset(_query_names(route.dependant))
        setattr(route, _QUERY_NAMES, names)
    for name in request.query_params:
        if name not in names:
            raise SpecError(
                f"unknown query parameter {name!r}", code="UnknownParameter", field=name or "query"
            )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


#: For ``APIRouter(dependencies=[known_query_only])``.
known_query_only = Depends(_known_query_only)
