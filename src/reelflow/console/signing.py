"""Signed values for the console's session cookie: HMAC-SHA256 with a server secret.

The secret is 32 random bytes made once into ``<data dir>/console-secret`` (mode 0600) and
read on every later start, so sessions survive a restart; deleting the file signs everyone
out. A signed value is ``base64url(payload) "." base64url(hmac)``: readable by its holder,
never forgeable. Nothing secret goes in a payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from reelflow.errors import ConfigError

SECRET_FILE = "console-secret"


def load_secret(data_dir: Path) -> bytes:
    """The console's signing secret, created (0600, exclusively) on first use."""
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    value = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value.hex() + "\n")
    return value


def _read_secret(path: Path) -> bytes:
    try:
        value = bytes.fromhex(path.read_text().strip())
    except ValueError:
        value = b""
    if len(value) < 32:
        raise ConfigError(f"{path} is not a console secret (64 hex digits): delete it to make one")
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs JSON payloads; ``purpose`` separates the keys of different uses."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def sign(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def unsign(self, value: str) -> dict[str, Any] | None:
        """The payload, or ``None`` for anything not signed by this signer."""
        body, dot, mac = value.partition(".")
        if not dot or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        return payload if isinstance(payload, dict) else None
