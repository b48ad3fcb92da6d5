"""The one place that turns exceptions into HTTP responses.

Every error is ``{"error": {"code": ..., "message": ..., "fields": [{"field", "message"}]}}``
(``fields`` only for bad input). All bad input is **400**, never 422: malformed JSON
(``InvalidParameter.MalformedJSON``), a missing field (``MissingParameter``), an unknown
field (``UnknownParameter``), a wrong type or value (``InvalidParameterValue`` or the
spec's own code). The status comes from the exception's type, then from its code's family:

    SpecError, InvalidKey, request validation              400
    LimitExceeded.*, UnsupportedOperation.*                400
    TooManyQueuedTasks (an account's queue is full)         429 + Retry-After
    AuthFailure.*                                          401 (403 for UnauthorizedOperation)
    AccessDenied                                           403
    *NotFound, ResourceNotFound.*                          404 (also a reference in a body)
    a method the path does not have                        405, ``Allow`` lists those it has
    StateError, FailedOperation.*, ResourceInUse.*         409
    upload body stopped arriving                           408 RequestTimeout
    body too large                                         413 RequestTooLarge
    Range outside the object                               416 InvalidParameterValue.Range
    DatabaseUnavailable, DiskFull                          503 + Retry-After
    other StorageError (retryable: timeout)                503
    anything else                                          500 InternalError

A reference *inside a body* to something missing (a template id, a bucket) is a
``SpecError`` naming the field; the REST API answers it 404 with its ``ResourceNotFound.*``
code, as for the resource named by the URL (the request is well-formed: what it names is
missing). The console shows such errors as bad form input (``status_for``: 400). A
traceback never reaches a response: it goes to the log, with a request id that the 500
response repeats.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from pydantic.alias_generators import to_snake
from sqlalchemy.exc import StatementError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelflow.db.outage import Throttled
from reelflow.errors import (
    AccessDenied,
    BucketNotFound,
    DatabaseUnavailable,
    DiskFull,
    InvalidKey,
    ObjectNotFound,
    ReelflowError,
    SpecError,
    StateError,
    StorageError,
    TaskNotFound,
    TooManyQueuedTasks,
)

logger = logging.getLogger(__name__)

MALFORMED_JSON = "InvalidParameter.MalformedJSON"
INTERNAL_ERROR = "InternalError"
_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})
_CODE_BY_PYDANTIC_TYPE = {
    "missing": "MissingParameter",
    "extra_forbidden": "UnknownParameter",
    "json_invalid": MALFORMED_JSON,
}
# Checked in order: the first class the error is an instance of decides.
_STATUS_BY_TYPE: tuple[tuple[type[ReelflowError], int], ...] = (
    (SpecError, 400),
    (InvalidKey, 400),
    (AccessDenied, 403),
    (ObjectNotFound, 404),
    (BucketNotFound, 404),
    (TaskNotFound, 404),
    (StateError, 409),
    (TooManyQueuedTasks, 429),
    (DatabaseUnavailable, 503),
    (StorageError, 503),
)
_STATUS_BY_CODE_FAMILY = (
    ("AuthFailure.UnauthorizedOperation", 403),
    ("AuthFailure", 401),
    ("ResourceNotFound", 404),
    ("FailedOperation", 409),
    ("ResourceInUse", 409),
    ("InvalidParameter", 400),
    ("MissingParameter", 400),
    ("UnknownParameter", 400),
    ("UnsupportedOperation", 400),
    ("LimitExceeded", 400),
)
_CODE_BY_STATUS = {
    401: "AuthFailure.InvalidAuthorization",
    403: "AuthFailure.UnauthorizedOperation",
    404: "ResourceNotFound",
    405: "UnsupportedOperation.Method",
    408: "RequestTimeout",
    413: "RequestTooLarge",
}


class HttpError(Exception):
    """An error raised by the HTTP layer itself (auth, ranges): status and code given.

    (Not the CLI's ``reelflow.cli.client.ApiError``, which is an error the server answered.)"""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class RequestTooLarge(HTTPException):
    """Raised from ``receive`` when a body passes its limit.

    An ``HTTPException`` on purpose: FastAPI re-raises those from body parsing (anything
    else there becomes a generic 400), so it reaches :func:`_http_exception` intact.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class RequestTimeout(HTTPException):
    """Raised while an upload is read when its client sent nothing for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"the upload stopped: no data from the client for {seconds:g} seconds"
        )


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = [{"field": f["field"], "message": f["message"]} for f in fields]
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def status_for(exc: ReelflowError) -> int:
    for kind, status in _STATUS_BY_TYPE:
        if isinstance(exc, kind):
            return status
    for family, status in _STATUS_BY_CODE_FAMILY:
        if exc.code == family or exc.code.startswith(family + "."):
            return status
    return 500


def field_name(loc: Iterable[int | str]) -> str:
    """``("body", "MediaProcessTask", "TranscodeTaskSet", 0, "Definition")`` ->
    ``media_process_task.transcode_task_set[0].definition``: the request part dropped,
    snake_case (the REST API's spelling), list positions in brackets, as the engine's
    ``SpecError.field`` writes them."""
    parts = list(loc)
    if parts and parts[0] in _REQUEST_PARTS:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + to_snake(part)
    return name


def validation_error_response(errors: Sequence[Any]) -> JSONResponse:
    """A 400 for pydantic/FastAPI errors: the first error's kind gives the code."""
    if not errors:
        return error_response(400, "InvalidParameterValue", "invalid request")
    first = errors[0]
    code = _CODE_BY_PYDANTIC_TYPE.get(first.get("type", ""), "InvalidParameterValue")
    if code == MALFORMED_JSON:
        reason = (first.get("ctx") or {}).get("error", "invalid JSON")
        position = first["loc"][-1] if first.get("loc") else "?"
        return error_response(
            400, code, f"the body is not valid JSON: {reason} (at character {position})"
        )
    fields = [_field_error(err) for err in errors]
    summary = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields)
    return error_response(400, code, f"invalid request: {summary}", fields=fields)


def _field_error(err: Mapping[str, Any]) -> dict[str, str]:
    name = field_name(err.get("loc", ()))
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if not name and err.get("type") == "missing":
        message = "a JSON body is required"
    elif not name and err.get("type") in _NOT_AN_OBJECT:
        message = "the body must be a JSON object sent with Content-Type: application/json"
    return {"field": name or "body", "message": message}


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(exc.errors())


def invalid_body(exc: ValidationError) -> RequestValidationError:
    """A body validated by the route itself (its model depends on the path), reported like
    one FastAPI validated. Only user input goes through here: any other ValidationError is
    a bug and stays a 500."""
    errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
    return RequestValidationError(errors)


async def _client_disconnect(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s %s: the client went away mid-body", request.method, request.url.path)
    return error_response(400, "InvalidParameter.IncompleteBody", "the request body was cut off")


def rest_status_for(exc: ReelflowError) -> int:
    """The REST API's status: :func:`status_for`, but 404 for any ``ResourceNotFound.*``
    (a missing resource named in the body as well as in the path)."""
    if exc.code == "ResourceNotFound" or exc.code.startswith("ResourceNotFound."):
        return 404
    return status_for(exc)


async def _reelflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReelflowError)
    status = rest_status_for(exc)
    if status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    fields = None
    if isinstance(exc, SpecError) and exc.field:
        fields = [{"field": exc.field, "message": exc.message}]
    headers = None
    if isinstance(exc, TooManyQueuedTasks):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(status, exc.code, exc.message, fields=fields, headers=headers)


_unavailable_log = Throttled(every=60.0)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database (or the disk under it) is away: 503 with ``Retry-After``, and one log
    line a minute at most, without a traceback: an outage is not a bug of this request."""
    assert isinstance(exc, DatabaseUnavailable | DiskFull)
    suppressed = _unavailable_log.allow()
    if suppressed is not None:
        logger.warning(
            "%s %s: %s (%d more such answers in the last minute)",
            request.method,
            request.url.path,
            exc,
            suppressed,
        )
    retry_after = str(DatabaseUnavailable.retry_after)
    return error_response(503, exc.code, exc.message, headers={"Retry-After": retry_after})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HttpError)
    return error_response(exc.status, exc.code, exc.message, headers=exc.headers)


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    fallback = "InvalidParameter" if exc.status_code < 500 else INTERNAL_ERROR
    code = _CODE_BY_STATUS.get(exc.status_code, fallback)
    message = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    elif exc.status_code == 405:
        allowed = allowed_methods(request.app.router.routes, request.scope)
        headers["Allow"] = ", ".join(allowed)
        message = f"Method Not Allowed: {request.url.path} takes {headers['Allow']}"
    return error_response(exc.status_code, code, message, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route fully matches ``scope``'s path with.

    Starlette's own 405 names the methods of the first route whose path matches only, and
    FastAPI makes one route per method, so ``Allow`` would miss the path's other methods.
    Each method is tried rather than routes read, because included routers are routes too.
    """
    routes = list(routes)
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def _is_overflow(exc: BaseException) -> bool:
    """SQLite refuses integers beyond 2**63-1 (an id a client made up), however wrapped."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OverflowError):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


async def _statement_error(request: Request, exc: Exception) -> JSONResponse:
    if _is_overflow(exc):
        return error_response(
            400,
            "InvalidParameterValue",
            "a number in the request is out of range (ids are at most 9223372036854775807)",
        )
    raise exc


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above and the catch-all for everything else."""
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(ReelflowError, _reelflow_error)
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(DiskFull, _unavailable)
    app.add_exception_handler(HttpError, _http_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(OverflowError, _statement_error)
    app.add_exception_handler(StatementError, _statement_error)
    app.add_middleware(CatchAllMiddleware)


class CatchAllMiddleware:
    """Any exception no handler knows becomes a 500 ``InternalError`` with a request id;
    the traceback goes to the log only.

    A pure ASGI middleware rather than an ``Exception`` handler: Starlette re-raises after
    calling such a handler, which logs the error twice and breaks test clients.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise  # too late for an error body; the server logs it and drops the connection
            request_id = uuid.uuid4().hex
            logger.exception(
                "unhandled error in %s %s (request id %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            response = error_response(
                500,
                INTERNAL_ERROR,
                f"internal error; the server log has the details (request id {request_id})",
            )
            await response(scope, receive, send)
