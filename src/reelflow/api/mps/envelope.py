"""Replies of the action API (mps-api.md §2.3-2.4), and its errors.

    success  HTTP 200  {"Response": {<output fields>, "RequestId": "<uuid>"}}
    error    HTTP 200  {"Response": {"Error": {"Code", "Message"}, "RequestId": "<uuid>"}}

Always status 200 and ``Content-Type: application/json`` exactly: the official SDK treats
any other status as a network error and skips its error check for
``application/json; charset=utf-8``, handing the caller an all-``None`` answer.

An error that passes with time (the database unreachable: ``ResourceUnavailable.Database``;
an account's queue full: ``LimitExceeded.TooManyQueuedTasks``) also carries ``Retry-After``;
the status stays 200 for the SDK's sake, the code says it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from reelflow.errors import (
    BucketNotFound,
    DatabaseUnavailable,
    ReelflowError,
    ScheduleNotFound,
    StateError,
    TooManyQueuedTasks,
    WorkflowNotFound,
)

CONTENT_TYPE = "application/json"
INTERNAL_ERROR = "InternalError"

# reelflow codes whose compatible-API counterpart is spelt differently.
_CODES = {
    BucketNotFound.code: "ResourceNotFound.CosBucketNotExist",
    WorkflowNotFound.code: "ResourceNotFound",
    ScheduleNotFound.code: "ResourceNotFound",
    StateError.code: "FailedOperation",
    "InvalidParameterValue.Url": "InvalidParameter.InvalidUrl",  # the egress policy
}


class MpsError(Exception):
    """An error answered in the error envelope: a compatible-API code and a message."""

    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, for errors that pass with time

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def from_reelflow(exc: ReelflowError) -> MpsError:
    """The envelope error for an error of reelflow's engine."""
    retry_after = (
        exc.retry_after if isinstance(exc, DatabaseUnavailable | TooManyQueuedTasks) else None
    )
    return MpsError(_CODES.get(exc.code, exc.code), exc.message, retry_after=retry_after)


def reply(body: dict[str, Any], request_id: str) -> Response:
    """A success envelope around ``body`` (its ``RequestId`` is set here)."""
    return _response({**body, "RequestId": request_id})


def error_reply(error: MpsError, request_id: str) -> Response:
    response = _response(
        {"Error": {"Code": error.code, "Message": error.message}, "RequestId": request_id}
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _response(payload: dict[str, Any]) -> Response:
    content = json.dumps({"Response": payload}, ensure_ascii=False, separators=(",", ":"))
    # Built by hand: the media type must carry no charset parameter.
    return Response(content.encode(), status_code=200, headers={"Content-Type": CONTENT_TYPE})
