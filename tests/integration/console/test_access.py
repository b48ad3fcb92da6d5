"""The console refuses requests without a session, and forms without the CSRF token."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.server.process import ServerProcess

pytestmark = pytest.mark.integration

PAGES = ["/console", "/console/tasks", "/console/workflows", "/console/templates",
         "/console/buckets", "/console/buckets/media"]  # fmt: skip
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(server: ServerProcess) -> tuple[httpx.Client, str]:
    """A cookie-keeping client signed in as the admin, and its session's CSRF token."""
    client = httpx.Client(base_url=server.url, timeout=30.0)
    form = client.get("/console/sign-in")
    token = _TOKEN.search(form.text)
    assert token is not None, form.text
    done = client.post(
        "/console/sign-in",
        data={"csrf_token": token.group(1), "secret_key": server.admin_key, "next": "/console"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/console", done.text
    page = client.get("/console")
    assert page.status_code == 200
    token = _TOKEN.search(page.text)
    assert token is not None
    return client, token.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_browser_without_a_session_to_sign_in(
    server: ServerProcess, path: str
) -> None:
    response = httpx.get(server.url + path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in?next=")


@pytest.mark.parametrize("path", ["/console/tasks/rows", "/console/dashboard/live"])
def test_htmx_and_json_requests_without_a_session_get_401(server: ServerProcess, path: str) -> None:
    htmx = httpx.get(server.url + path, headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"].startswith("/console/sign-in")
    api = httpx.get(server.url + path, headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "AuthFailure.NoSession"


def test_a_forged_cookie_is_no_session(server: ServerProcess) -> None:
    response = httpx.get(
        server.url + "/console", cookies={"reelflow_console": "eyJjIjoiYSJ9.forged"}
    )
    assert response.status_code == 303


def test_root_redirects_browsers_to_the_console(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 307
    assert response.headers["location"] == "/console"


def test_session_cookie_is_httponly_and_samesite(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/console/sign-in")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie


def test_forms_refuse_a_missing_or_wrong_csrf_token(server: ServerProcess) -> None:
    client, token = signed_in(server)
    try:
        missing = client.post("/console/workflows", data={"name": "x"})
        assert missing.status_code == 403
        assert "security token" in missing.text
        wrong = client.post("/console/workflows", data={"name": "x", "csrf_token": "nope"})
        assert wrong.status_code == 403
        upload = client.put("/console/buckets/media/objects/in/x.mp4", content=b"x")
        assert upload.status_code == 403
        # The same form with the token is accepted (and fails validation instead).
        ok = client.post("/console/workflows", data={"name": "", "csrf_token": token})
        assert ok.status_code == 400
        assert 'data-error-for="name"' in ok.text
    finally:
        client.close()


def test_sign_in_refuses_a_missing_csrf_token_and_a_wrong_key(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/console/sign-in")
        token = _TOKEN.search(form.text)
        assert token is not None
        no_token = client.post("/console/sign-in", data={"secret_key": server.admin_key})
        assert no_token.status_code == 403
        wrong = client.post(
            "/console/sign-in", data={"secret_key": "not-a-key", "csrf_token": token.group(1)}
        )
        assert wrong.status_code == 401
        assert "No active API key" in wrong.text
