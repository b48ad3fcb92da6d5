"""Fixtures shared by the unit tests: a settable clock; the catalog (accounts, buckets,
templates, workflows) over the shared database, used by the catalog's and the engine's tests;
and the app over an area's ``runtime`` fixture with a test client (an area may override
``app``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from reelflow.catalog.accounts import Account, Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import Workflows
from reelflow.db.session import session_factory
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices
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
def app(runtime: ServerServices) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# -- accounts, buckets, templates, workflows -----------------------------------------------


@pytest.fixture
def sessions(db: DbEngine) -> sessionmaker[Session]:
    return session_factory(db)


@pytest.fixture
def accounts(sessions: sessionmaker[Session], clock: FakeClock) -> Accounts:
    return Accounts(sessions, clock=clock)


@pytest.fixture
def buckets(sessions: sessionmaker[Session], clock: FakeClock) -> Buckets:
    return Buckets(sessions, clock=clock)


@pytest.fixture
def templates(sessions: sessionmaker[Session], clock: FakeClock) -> Templates:
    return Templates(sessions, clock=clock)


@pytest.fixture
def workflows(
    sessions: sessionmaker[Session], templates: Templates, buckets: Buckets, clock: FakeClock
) -> Workflows:
    return Workflows(sessions, templates, buckets, clock=clock)


@pytest.fixture
def alice(accounts: Accounts, buckets: Buckets) -> Account:
    """An account that owns the buckets ``in`` and ``alice-out``."""
    account = accounts.create_account("alice")
    buckets.ensure("in", account.id)
    buckets.ensure("alice-out", account.id)
    return account


@pytest.fixture
def bob(accounts: Accounts, buckets: Buckets) -> Account:
    """Another account, with the bucket ``bob-in``."""
    account = accounts.create_account("bob")
    buckets.ensure("bob-in", account.id)
    return account
