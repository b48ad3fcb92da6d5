"""A small HTTP client for the CLI commands that talk to a running server.

Every client command (``submit``, ``task``, ``events``, ``doctor``) finds the server and its
key the same way, first found wins (:func:`find_server`):

1. ``--url`` / ``--key``;
2. ``REELFLOW_URL`` / ``REELFLOW_KEY``;
3. the data dir of a server (``--data-dir``, else ``REELFLOW_DATA_DIR``, else
   ``./reelflow-data``): its ``admin-key.json`` (and ``server.json``, the address that
   server listens on), both written by ``reelflow serve``;
4. for the address only: ``http://127.0.0.1:8080``, where ``reelflow serve`` listens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from reelflow.cli.serve import ADMIN_KEY_FILE, SERVER_FILE
from reelflow.errors import ConfigError, ReelflowError

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DATA_DIR = Path("reelflow-data")
LOOKUP_ORDER = (
    "--url/--key, then REELFLOW_URL/REELFLOW_KEY, then the admin-key.json of a data dir "
    "(--data-dir, REELFLOW_DATA_DIR or ./reelflow-data), then http://127.0.0.1:8080"
)

# The options every client command takes, in one place.
UrlOption = Annotated[
    str | None, typer.Option("--url", help="The server (else REELFLOW_URL, the data dir, :8080).")
]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="An API key's secret (else REELFLOW_KEY, the data dir).")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="A server's data dir (else REELFLOW_DATA_DIR, ./reelflow-data)."
    ),
]


class ApiError(ReelflowError):
    """An error answer from the server: its code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})", code=code)
        self.status = status


@dataclass(frozen=True)
class Server:
    """Where a client command goes: the address and key, and where each came from."""

    url: str
    key: str
    url_from: str
    key_from: str
    data_dir: Path


def data_dir_of(data_dir: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """``--data-dir``, else ``REELFLOW_DATA_DIR``, else ``./reelflow-data``."""
    environ = os.environ if env is None else env
    if data_dir is not None:
        return data_dir
    named = environ.get("REELFLOW_DATA_DIR")
    return Path(named) if named else DEFAULT_DATA_DIR


def _read_json(path: Path, field: str) -> str:
    """``field`` of a JSON file the server wrote ('' if there is no such file)."""
    try:
        value = json.loads(path.read_text())[field]
    except FileNotFoundError:
        return ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read {field!r} from {path}: {exc}") from exc
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {field!r} is not a string")
    return value


def find_server(
    url: str | None = None,
    key: str | None = None,
    data_dir: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    require_key: bool = True,
) -> Server:
    """The server and key by the lookup order of this module. ``ConfigError`` naming every
    place looked at when no key is found (unless ``require_key`` is false)."""
    environ = os.environ if env is None else env
    folder = data_dir_of(data_dir, environ)
    where = f"{folder}"
    if url:
        found_url, url_from = url, "--url"
    elif environ.get("REELFLOW_URL"):
        found_url, url_from = environ["REELFLOW_URL"], "REELFLOW_URL"
    elif served := _read_json(folder / SERVER_FILE, "url"):
        found_url, url_from = served, f"{where}/{SERVER_FILE}"
    else:
        found_url, url_from = DEFAULT_URL, "the default address"
    if key:
        found_key, key_from = key, "--key"
    elif environ.get("REELFLOW_KEY"):
        found_key, key_from = environ["REELFLOW_KEY"], "REELFLOW_KEY"
    elif secret := _read_json(folder / ADMIN_KEY_FILE, "secret_key"):
        found_key, key_from = secret, f"{where}/{ADMIN_KEY_FILE}"
    else:
        found_key, key_from = "", ""
    if require_key and not found_key:
        raise ConfigError(
            f"no API key to talk to the server with: looked at {LOOKUP_ORDER}; "
            f"there is no {(folder / ADMIN_KEY_FILE).resolve()}. Pass --key (or set "
            "REELFLOW_KEY), or point --data-dir at the data dir of the running server"
        )
    return Server(found_url.rstrip("/"), found_key, url_from, key_from, folder)


class ApiClient:
    def __init__(self, server: Server, *, timeout: float = 30.0) -> None:
        self.server = server
        headers = {"Authorization": f"Bearer {server.key}"} if server.key else {}
        self.http = httpx.Client(base_url=server.url, headers=headers, timeout=timeout)

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
            raise ConfigError(
                f"cannot reach the server at {self.server.url} (from {self.server.url_from}): "
                f"{exc}; the server is looked for at {LOOKUP_ORDER}"
            ) from exc

    def object_url(self, bucket: str, key: str) -> str:
        """Where the object can be downloaded (with the API key)."""
        return f"{self.server.url}/v1/buckets/{quote(bucket, safe='')}/objects/{quote(key)}"

    def object_size(self, bucket: str, key: str) -> int | None:
        """The object's size from a HEAD request; ``None`` if it is not there."""
        path = f"/v1/buckets/{quote(bucket, safe='')}/objects/{quote(key)}"
        try:
            response = self.http.head(path)
        except httpx.TransportError as exc:
            raise ConfigError(f"cannot reach the server at {self.server.url}: {exc}") from exc
        if not response.is_success:
            return None
        length = response.headers.get("content-length")
        return int(length) if length and length.isdigit() else None

    def upload(self, bucket: str, key: str, path: Path) -> Any:
        with path.open("rb") as handle:
            return self.request("PUT", f"/v1/buckets/{bucket}/objects/{quote(key)}", content=handle)

    def submit(self, body: dict[str, Any]) -> str:
        return str(self.request("POST", "/v1/tasks", json=body)["task_id"])

    def task(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/v1/tasks/{quote(task_id)}")
        return result
