"""A small HTTP client for the CLI commands that talk to a running server.

The server and key come from ``REELFLOW_URL`` + ``REELFLOW_KEY``, else from the data dir
(``server.json`` and ``admin-key.json`` written by ``reelflow serve``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from reelflow.cli.serve import ADMIN_KEY_FILE, SERVER_FILE
from reelflow.errors import ConfigError, ReelflowError


class ApiError(ReelflowError):
    """An error answer from the server: its code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})", code=code)
        self.status = status


def connection(data_dir: Path | None) -> tuple[str, str]:
    """(url, key) from the environment or the data dir."""
    url = os.environ.get("REELFLOW_URL", "")
    key = os.environ.get("REELFLOW_KEY", "")
    folder = data_dir or Path(os.environ.get("REELFLOW_DATA_DIR", "reelflow-data"))
    if not url and (folder / SERVER_FILE).exists():
        url = json.loads((folder / SERVER_FILE).read_text())["url"]
    if not key and (folder / ADMIN_KEY_FILE).exists():
        key = json.loads((folder / ADMIN_KEY_FILE).read_text())["secret_key"]
    if not url or not key:
        raise ConfigError(
            f"no server to talk to: set REELFLOW_URL and REELFLOW_KEY, or point --data-dir at "
            f"a running server's data dir (looked in {folder.resolve()})"
        )
    return url.rstrip("/"), key


class ApiClient:
    def __init__(self, url: str, key: str, *, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        try:
            error = response.json()["error"]
            code, message = error["code"], error["message"]
        except (ValueError, KeyError, TypeError):
            code, message = "HttpError", response.text[:200]
        raise ApiError(response.status_code, code, message)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._check(self.http.request(method, path, **kwargs))
        except httpx.TransportError as exc:
            raise ConfigError(f"cannot reach the server at {self.http.base_url}: {exc}") from exc

    def upload(self, bucket: str, key: str, path: Path) -> Any:
        with path.open("rb") as handle:
            return self.request("PUT", f"/v1/buckets/{bucket}/objects/{quote(key)}", content=handle)

    def submit(self, body: dict[str, Any]) -> str:
        return str(self.request("POST", "/v1/tasks", json=body)["task_id"])

    def task(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/v1/tasks/{quote(task_id)}")
        return result
