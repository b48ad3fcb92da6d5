"""Shapes shared by every resource: the error body and the base models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

#: Ids are SQL BIGINTs: the schema states the bound, so a larger one is bad input (400).
MAX_ID = 2**63 - 1
#: A repeated ``id``/``definition`` query parameter: each item an id.
IdList = list[Annotated[int, Field(ge=1, le=MAX_ID)]]
DefinitionList = list[Annotated[int, Field(ge=0, le=MAX_ID)]]
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: Any) -> Any:
    """Pydantic would also take a number (seconds since 1970) or a bare date; the schema
    says ``date-time``, so only that is taken."""
    if isinstance(value, str) and not _DATE_TIME.match(value.strip()):
        raise ValueError("use an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z")
    return value


def _json_integer(cls: type[BaseModel], value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


def json_integers(*names: str) -> Any:
    """A validator making the ``int`` fields ``names`` integers as JSON Schema means them:
    ``4`` and ``4.0``, not ``false`` or ``"4"`` (which pydantic's lax mode takes as 0 and 4).
    Use as ``_ints = json_integers("a", "b")`` in the model's body."""
    return field_validator(*names, mode="before")(_json_integer)


#: A ``date-time`` query parameter (UTC if it has no zone).
DateTimeQuery = Annotated[datetime, BeforeValidator(_date_time_text)]
#: A task id in a path (``rf-`` and 32 hex digits for reelflow's own; no ``/`` or ``:``).
TaskId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/:]+$")]


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="forbid")


class FieldError(ResponseModel):
    """One offending field of a request (a dotted path) and what is wrong with it."""

    field: str
    message: str


class ErrorDetail(ResponseModel):
    """What went wrong: a stable `code`, a `message` a person can act on, and the offending
    `fields` of bad input."""

    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorResponse(ResponseModel):
    """Every error the API returns: ``{"error": {"code", "message", "fields"?}}``."""

    error: ErrorDetail


_DOCUMENTED_ERRORS = {
    400: "Bad input: malformed JSON, unknown or invalid fields or query parameters (see `fields`).",
    401: "Missing or unknown API key (`AuthFailure.*`).",
    403: "The key may not do this (`AuthFailure.UnauthorizedOperation`).",
    404: "No such resource, or it belongs to another account (`ResourceNotFound.*`, also "
    "for a missing resource named in the body).",
    408: "The client stopped sending the upload's body (`RequestTimeout`).",
    409: "The resource's state does not allow this (`FailedOperation.*`, `ResourceInUse.*`).",
    411: "The upload has no body: send `Content-Length` or a chunked body "
    "(`MissingParameter.ContentLength`).",
    413: "The request body is too large (`RequestTooLarge`).",
    416: "The range is outside the object (`InvalidParameterValue.Range`).",
    429: "The account has `max_queued_tasks` unfinished tasks "
    "(`LimitExceeded.TooManyQueuedTasks`): try again after `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting the error body for ``statuses``."""
    return {
        status: {"model": ErrorResponse, "description": _DOCUMENTED_ERRORS.get(status, "Error")}
        for status in statuses
    }
