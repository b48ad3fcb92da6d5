"""Trigger integration fixtures: moto's S3 server for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.s3server import MotoServer, moto_server


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server
