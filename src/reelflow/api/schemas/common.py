"""Shapes shared by every resource: the error body and the base models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="forbid")


class FieldError(ResponseModel):
    field: str
    message: str


class ErrorDetail(ResponseModel):
    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorResponse(ResponseModel):
    """Every error the API returns: ``{"error": {"code", "message", "fields"?}}``."""

    error: ErrorDetail


_DOCUMENTED_ERRORS = {
    400: "Bad input: malformed JSON, unknown or invalid fields (see `fields`).",
    401: "Missing or unknown API key (`AuthFailure.*`).",
    404: "No such resource, or it belongs to another account.",
    408: "The client stopped sending the upload's body (`RequestTimeout`).",
    409: "The resource's state does not allow this (`FailedOperation.*`).",
    413: "The request body is too large (`RequestTooLarge`).",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting the error body for ``statuses``."""
    return {
        status: {"model": ErrorResponse, "description": _DOCUMENTED_ERRORS.get(status, "Error")}
        for status in statuses
    }
