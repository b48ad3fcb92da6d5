"""API fixtures: a real ``ServerServices`` on a temporary data dir (SQLite, local buckets), the app
over it (with small body limits) and a test client (``client``, from
tests/unit/conftest.py); two accounts, each with a bucket of its own.

The scheduler is not started: tests that need jobs to run tick it themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from reelflow.config import Settings
from reelflow.storage.local.backend import LocalStorage
from reelflow.web.limits import BodyLimits
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.unit.conftest import TestClient

__all__ = [
    "JSON_LIMIT",
    "OTHER_BUCKET",
    "UPLOAD_LIMIT",
    "Key",
    "TestClient",
    "error_of",
    "fields_of",
]

OTHER_BUCKET = "bob-media"
JSON_LIMIT = 64 * 1024
UPLOAD_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class Key:
    """An account's bearer headers."""

    account_id: int
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    with build_server(Settings(data_dir=tmp_path / "data", workers=2, max_attempts=1)) as rt:
        yield rt


@pytest.fixture
def app(runtime: ServerServices) -> FastAPI:
    return create_app(runtime, limits=BodyLimits(json_body=JSON_LIMIT, upload=UPLOAD_LIMIT))


@pytest.fixture
def admin(runtime: ServerServices) -> Key:
    assert runtime.admin_key is not None
    return Key(runtime.admin_account.id, runtime.admin_key.secret_key)


@pytest.fixture
def bob(runtime: ServerServices, tmp_path: Path) -> Key:
    """A second, non-admin account owning the bucket ``bob-media``."""
    key = runtime.accounts.create_key("bob")
    runtime.buckets.ensure(OTHER_BUCKET, key.account.id)
    runtime.storages.add(LocalStorage(OTHER_BUCKET, tmp_path / "bob-media"))
    return Key(key.account.id, key.secret_key)


def error_of(response: object) -> dict[str, object]:
    """The ``error`` object of a JSON error response (asserts the shape)."""
    from httpx import Response

    assert isinstance(response, Response)
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict)
    assert "Traceback" not in response.text
    return error


def fields_of(response: object) -> list[str]:
    error = error_of(response)
    fields = error.get("fields") or []
    assert isinstance(fields, list)
    return [f["field"] for f in fields]
