"""Sessions: sign in and out, refusals without a session, CSRF, revoked keys."""

from __future__ import annotations

from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient
from tests.unit.console.conftest import Console, csrf_of, sign_in


def test_pages_redirect_to_sign_in_and_come_back(browser: TestClient, admin: Key) -> None:
    response = browser.get("/console/tasks?state=failed")
    assert response.status_code == 303
    target = response.headers["location"]
    assert target == "/console/sign-in?next=%2Fconsole%2Ftasks%3Fstate%3Dfailed"
    form = browser.get(target)
    token = csrf_of(form.text)
    assert 'name="next" value="/console/tasks?state=failed"' in form.text
    done = browser.post(
        "/console/sign-in",
        data={
            "csrf_token": token,
            "secret_key": admin.secret,
            "next": "/console/tasks?state=failed",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/console/tasks?state=failed"
    assert browser.get("/console/tasks?state=failed").status_code == 200


def test_sign_in_never_redirects_off_the_console(browser: TestClient, admin: Key) -> None:
    token = csrf_of(browser.get("/console/sign-in").text)
    done = browser.post(
        "/console/sign-in",
        data={"csrf_token": token, "secret_key": admin.secret, "next": "//evil.example/x"},
    )
    assert done.headers["location"] == "/console"


def test_a_new_session_gets_a_new_csrf_token(browser: TestClient, admin: Key) -> None:
    before = csrf_of(browser.get("/console/sign-in").text)
    after = sign_in(browser, admin.secret)
    assert before != after


def test_htmx_and_json_callers_get_401(browser: TestClient) -> None:
    htmx = browser.get("/console/tasks/rows", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/console/sign-in?next=")
    api = browser.get("/console/dashboard/live", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "AuthFailure.NoSession"


def test_forms_without_the_token_are_refused(console: Console) -> None:
    missing = console.client.post("/console/workflows", data={"name": "x"})
    assert missing.status_code == 403
    assert missing.headers["content-type"].startswith("text/html")
    wrong = console.client.post("/console/sign-out", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert console.client.get("/console").status_code == 200  # still signed in


def test_sign_out_ends_the_session(console: Console) -> None:
    done = console.post("/console/sign-out")
    assert done.status_code == 303
    assert console.client.get("/console").status_code == 303


def test_revoking_the_key_ends_its_sessions(console: Console, runtime: ServerServices) -> None:
    for info in runtime.accounts.list_keys("admin"):
        runtime.accounts.revoke(info.secret_id)
    assert console.client.get("/console").status_code == 303


def test_a_wrong_key_is_refused_with_the_form_again(browser: TestClient) -> None:
    token = csrf_of(browser.get("/console/sign-in").text)
    done = browser.post("/console/sign-in", data={"csrf_token": token, "secret_key": "nope"})
    assert done.status_code == 401
    assert "No active API key" in done.text


def test_pages_carry_security_headers(console: Console) -> None:
    page = console.client.get("/console")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    cookie = console.client.get("/console/sign-in").headers.get("set-cookie", "")
    assert cookie == "" or "httponly" in cookie.lower()


def test_root_redirects_to_the_console(browser: TestClient) -> None:
    response = browser.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 307 and response.headers["location"] == "/console"


def test_the_session_names_the_key_signed_in_with(
    browser: TestClient, runtime: ServerServices
) -> None:
    first = runtime.accounts.create_key("carol")
    second = runtime.accounts.create_key("carol")
    sign_in(browser, second.secret_key)
    runtime.accounts.revoke(first.secret_id)
    assert browser.get("/console").status_code == 200  # another key of the account
    runtime.accounts.revoke(second.secret_id)
    assert browser.get("/console").status_code == 303


def test_a_revoked_key_cannot_sign_in(browser: TestClient, runtime: ServerServices) -> None:
    key = runtime.accounts.create_key("dave")
    runtime.accounts.revoke(key.secret_id)
    token = csrf_of(browser.get("/console/sign-in").text)
    done = browser.post(
        "/console/sign-in", data={"csrf_token": token, "secret_key": key.secret_key}
    )
    assert done.status_code == 401
