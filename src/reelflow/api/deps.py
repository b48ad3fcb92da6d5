"""Dependencies of the routes, as ``Annotated`` aliases.

Dependencies that only read memory are ``async`` (FastAPI would run a plain ``def`` in a
worker thread: a thread hop per dependency per request); those that query the database are
plain functions, so they never block the event loop.

Everything comes from the ``Runtime`` on ``app.state``: no globals. Authentication is
``Authorization: Bearer <secret_key>``; a missing or malformed header is
``AuthFailure.InvalidAuthorization`` and an unknown or revoked key
``AuthFailure.SecretIdNotFound`` (the code the compatible API gives an unknown key), both
401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelflow.api.errors import ApiError
from reelflow.api.metrics import ServiceMetrics
from reelflow.engine.accounts import Account
from reelflow.engine.service import Engine
from reelflow.runtime import Runtime
from reelflow.storage.base import Storage
from reelflow.storage.keys import validate_key

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Declares the scheme in OpenAPI (the "Authorize" button of /docs); the header is parsed
# below so that a missing and a malformed header get their own messages.
_bearer = HTTPBearer(auto_error=False, description="An API key's secret: `Bearer <secret_key>`")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_engine(runtime: RuntimeDep) -> Engine:
    return runtime.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]


def current_account(
    request: Request,
    runtime: RuntimeDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Account:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(
            401,
            "AuthFailure.InvalidAuthorization",
            "this request needs an API key: send 'Authorization: Bearer <secret_key>'",
            headers=_CHALLENGE,
        )
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(
            401,
            "AuthFailure.InvalidAuthorization",
            "the Authorization header must be 'Bearer <secret_key>'",
            headers=_CHALLENGE,
        )
    account = runtime.accounts.authenticate(secret)
    if account is None:
        raise ApiError(
            401,
            "AuthFailure.SecretIdNotFound",
            "no active API key has this secret (unknown or revoked)",
            headers=_CHALLENGE,
        )
    return account


AccountDep = Annotated[Account, Depends(current_account)]


async def admin_account(account: AccountDep) -> Account:
    if not account.is_admin:
        raise ApiError(
            403, "AuthFailure.UnauthorizedOperation", "this needs an admin account's API key"
        )
    return account


AdminDep = Annotated[Account, Depends(admin_account)]


def account_bucket(
    runtime: RuntimeDep,
    account: AccountDep,
    bucket: Annotated[str, Path(description="Bucket name.")],
) -> Storage:
    """The bucket named in the path if the account owns it, else ``BucketNotFound`` (404,
    the same for another account's bucket and for one that does not exist)."""
    runtime.buckets.check_access(account.id, bucket)
    return runtime.storages.get(bucket)


BucketDep = Annotated[Storage, Depends(account_bucket)]


async def object_key(key: Annotated[str, Path(description="Object key (may contain '/').")]) -> str:
    """The key in the path, validated (``InvalidParameterValue.Key`` says why not)."""
    return validate_key(key)


KeyDep = Annotated[str, Depends(object_key)]
