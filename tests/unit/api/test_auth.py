"""Bearer keys: missing, malformed, unknown and revoked keys are 401 with a stable code."""

from __future__ import annotations

import pytest

from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient, error_of


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "AuthFailure.InvalidAuthorization"),
        ("", "AuthFailure.InvalidAuthorization"),
        ("Bearer", "AuthFailure.InvalidAuthorization"),
        ("Basic dXNlcjpwYXNz", "AuthFailure.InvalidAuthorization"),
        ("Bearer not-a-key", "AuthFailure.SecretIdNotFound"),
    ],
)
def test_bad_credentials_are_401(client: TestClient, header: str | None, code: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/v1/tasks", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == code
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_valid_key_is_accepted_case_insensitively(client: TestClient, admin: Key) -> None:
    response = client.get("/v1/tasks", headers={"Authorization": f"bearer  {admin.secret}"})
    assert response.status_code == 200


def test_a_revoked_key_is_refused_at_once(
    client: TestClient, runtime: ServerServices, bob: Key
) -> None:
    assert client.get("/v1/buckets", headers=bob.headers).status_code == 200
    secret_id = runtime.accounts.list_keys("bob")[0].secret_id
    runtime.accounts.revoke(secret_id)
    response = client.get("/v1/buckets", headers=bob.headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "AuthFailure.SecretIdNotFound"


def test_auth_is_checked_before_an_upload_body_is_read(client: TestClient) -> None:
    response = client.put("/v1/buckets/media/objects/a.mp4", content=b"x" * 1000)
    assert response.status_code == 401
