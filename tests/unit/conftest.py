"""Fixtures shared by the unit tests: a settable clock, and the app over an area's
``runtime`` fixture with a test client (an area may override ``app``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from reelflow.runtime import Runtime
from reelflow.wiring.http import create_app
from tests.unit.engine.fakes import FakeClock

with warnings.catch_warnings():
    # Starlette 1.x asks for the httpx2 package; the API behaves the same over httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
