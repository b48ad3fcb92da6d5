"""Fixtures shared by the integration tests: moto's S3 server for the session, and the API
served by uvicorn in a thread of this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.s3server import MotoServer, moto_server
from tests.servers import in_process_server


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, admin secret) of a server on ``tmp_path / "data"`` in a thread of this
    process (whose memory a test can watch)."""
    with in_process_server(tmp_path / "data") as served:
        yield served
