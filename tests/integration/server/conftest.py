"""Fixtures for tests against a real ``reelflow serve`` process on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.server.process import ServerProcess, Servers


@pytest.fixture
def servers() -> Iterator[Servers]:
    """``servers.start(data_dir, lease_seconds="3")`` -> a healthy server; all stopped after."""
    started = Servers()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server shared by the tests that do not stop or crash it."""
    started = Servers()
    try:
        yield started.start(tmp_path_factory.mktemp("shared") / "data")
    finally:
        started.close()


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    """The shared server's API client with the admin key."""
    with server.client() as client:
        yield client
