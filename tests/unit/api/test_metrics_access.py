"""Who may scrape ``/metrics``: the dedicated REELFLOW_METRICS_TOKEN, an admin key, or anyone
when ``metrics_public`` is set (in reelflow.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from reelflow.config import load_settings
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient, error_of

TOKEN = "scrape-me-0123456789"


def test_the_dedicated_token_scrapes(client: TestClient, runtime: ServerServices, bob: Key) -> None:
    runtime.settings.metrics_token = SecretStr(TOKEN)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "reelflow_tasks" in response.text
    # The token is no API key: it reads nothing else.
    assert client.get("/v1/tasks", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
    # A wrong token, and a non-admin key, still do not scrape.
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers=bob.headers).status_code == 403


def test_an_admin_key_scrapes_with_or_without_a_token(
    client: TestClient, runtime: ServerServices, admin: Key
) -> None:
    assert client.get("/metrics", headers=admin.headers).status_code == 200
    runtime.settings.metrics_token = SecretStr(TOKEN)
    assert client.get("/metrics", headers=admin.headers).status_code == 200


def test_without_credentials_the_answer_says_how(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    message = str(error_of(response)["message"])
    assert "REELFLOW_METRICS_TOKEN" in message and "metrics_public" in message


def test_public_metrics_need_nothing(client: TestClient, runtime: ServerServices) -> None:
    runtime.settings.metrics_public = True
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "reelflow_queue_depth" in response.text


def test_settings_from_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reelflow.toml").write_text("metrics_public = true\n")
    assert load_settings(data_dir=tmp_path).metrics_public is True
    monkeypatch.setenv("REELFLOW_METRICS_TOKEN", TOKEN)
    settings = load_settings(data_dir=tmp_path / "other")
    assert settings.metrics_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)
