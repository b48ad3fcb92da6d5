"""What every error answer of the API must look like, checked in one place."""

from __future__ import annotations

from typing import Any

import httpx


def api_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is the JSON error ``{"error": {"code", "message"}}`` with
    ``status`` and ``code``, free of tracebacks and HTML; returns the ``error`` object."""
    summary = f"{response.request.method} {response.request.url.path}: {response.text[:500]}"
    assert response.status_code == status, summary
    assert response.headers["content-type"] == "application/json", summary
    text = response.text
    assert "Traceback" not in text and "<html" not in text.lower(), summary
    body = response.json()
    assert set(body) == {"error"}, summary
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, summary
    assert isinstance(error["message"], str) and error["message"], summary
    assert set(error) <= {"code", "message", "fields"}, summary
    return error


def fields_of(error: dict[str, Any]) -> list[str]:
    """The names of the fields an error blames."""
    return [item["field"] for item in error.get("fields", [])]
