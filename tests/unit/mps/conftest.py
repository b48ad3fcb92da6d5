"""Fixtures for the action API: a real ``ServerServices`` on a temporary data dir (SQLite, local
buckets; the scheduler is not started), the app over it (``app`` and ``client`` of
tests/unit/conftest.py), and ``call(action, params)`` that signs like the official SDK and
returns the envelope's ``Response``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from reelflow.config import Settings
from reelflow.storage.memory import MemoryStorage
from reelflow.wiring.server import ServerServices, build_server
from tests.unit.conftest import TestClient
from tests.unit.mps.tc3 import signed_headers

S3_BUCKET = "archive"
S3_REGION = "ap-shanghai"


@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str


class Call(Protocol):
    def __call__(
        self, action: str, params: dict[str, Any] | None = None, **options: Any
    ) -> dict[str, Any]: ...


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    with build_server(Settings(data_dir=tmp_path / "data", workers=1, max_attempts=1)) as rt:
        # A bucket with a configured region, as an S3 bucket has.
        archive = MemoryStorage(S3_BUCKET)
        archive.region = S3_REGION
        rt.storages.add(archive)
        rt.buckets.ensure(S3_BUCKET, rt.admin_account.id, backend="memory")
        yield rt


@pytest.fixture
def admin(runtime: ServerServices) -> Credentials:
    assert runtime.admin_key is not None
    return Credentials(runtime.admin_key.secret_id, runtime.admin_key.secret_key)


@pytest.fixture
def call(client: TestClient, admin: Credentials) -> Call:
    def do(action: str, params: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        creds: Credentials = options.pop("credentials", admin)
        body = json.dumps(params or {}).encode()
        headers = signed_headers(action, body, creds.secret_id, creds.secret_key, **options)
        response = client.post("/", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        document = response.json()
        assert set(document) == {"Response"}, document
        answer: dict[str, Any] = document["Response"]
        assert answer["RequestId"]
        return answer

    return do


def error_code(answer: dict[str, Any]) -> str:
    """The error code of an error envelope (asserts it is one)."""
    assert "Error" in answer, answer
    assert set(answer["Error"]) == {"Code", "Message"}
    code: str = answer["Error"]["Code"]
    return code
