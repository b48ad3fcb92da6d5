"""A console client signed in as the admin (cookies kept), over the API fixtures' app
(``runtime``, ``app``, ``admin``, ``bob``: imported from tests/unit/api/conftest.py, so the
console is tested on the same app as the REST API)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from tests.unit.api.conftest import Key, TestClient, admin, app, bob, runtime

__all__ = ["admin", "app", "bob", "runtime"]  # the fixtures, for pytest

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found is not None, html[:500]
    return found.group(1)


@dataclass
class Console:
    client: TestClient
    token: str

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})


def sign_in(client: TestClient, secret: str) -> str:
    """Sign ``client`` in with ``secret``; returns the session's CSRF token."""
    token = csrf_of(client.get("/console/sign-in").text)
    done = client.post("/console/sign-in", data={"csrf_token": token, "secret_key": secret})
    assert done.status_code == 303, done.text
    return csrf_of(client.get("/console").text)


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A client that does not follow redirects (the tests look at them)."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def console(browser: TestClient, admin: Key) -> Console:
    return Console(browser, sign_in(browser, admin.secret))
