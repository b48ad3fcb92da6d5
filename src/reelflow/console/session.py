"""The console's session: one signed cookie, its CSRF token, and the key it signed in with.

    cookie  reelflow_console = sign({"c": csrf, "k": secret_id, "t": issued, "f": flash})
            HttpOnly, SameSite=Lax, Path=/console, Secure over https, 12 h

Every visitor gets a session before signing in (the sign-in form is CSRF-protected too);
signing in replaces it with a new one (new token: no fixation) naming the API key's
``secret_id``, never the secret. Each request checks that this key is still live, so
revoking the key signs its sessions out at once. ``f`` is a one-shot notice shown by the
next page.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import Response

from reelflow.console.signing import Signer

COOKIE = "reelflow_console"
COOKIE_PATH = "/console"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class ConsoleSession:
    csrf: str
    issued: int
    key_id: str = ""  # the signed-in API key's secret_id; "" before signing in
    flash: str = ""  # "level:text", shown once

    @classmethod
    def new(cls, now: float, key_id: str = "") -> ConsoleSession:
        return cls(csrf=secrets.token_urlsafe(32), issued=int(now), key_id=key_id)

    def with_flash(self, level: str, text: str) -> ConsoleSession:
        return replace(self, flash=f"{level}:{text}")

    def without_flash(self) -> ConsoleSession:
        return replace(self, flash="")

    @property
    def notice(self) -> tuple[str, str] | None:
        if not self.flash:
            return None
        level, _, text = self.flash.partition(":")
        return level, text

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, signer: Signer, clock: Callable[[], float] = time.time) -> None:
        self._signer = signer
        self._clock = clock

    def new(self, key_id: str = "") -> ConsoleSession:
        return ConsoleSession.new(self._clock(), key_id)

    def read(self, request: Request) -> ConsoleSession | None:
        """The request's session; ``None`` if absent, forged, malformed or expired."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        data = self._signer.unsign(raw)
        if data is None:
            return None
        csrf, issued = data.get("c"), data.get("t")
        key_id, flash = data.get("k", ""), data.get("f", "")
        if not (isinstance(csrf, str) and csrf and isinstance(issued, int)):
            return None
        if not (isinstance(key_id, str) and isinstance(flash, str)):
            return None
        if not 0 <= self._clock() - issued < MAX_AGE:
            return None
        return ConsoleSession(csrf=csrf, issued=issued, key_id=key_id, flash=flash)

    def write(self, request: Request, response: Response, session: ConsoleSession) -> None:
        payload: dict[str, object] = {"c": session.csrf, "t": session.issued}
        if session.key_id:
            payload["k"] = session.key_id
        if session.flash:
            payload["f"] = session.flash
        remaining = max(1, MAX_AGE - int(self._clock() - session.issued))
        response.set_cookie(
            COOKIE,
            self._signer.sign(payload),
            max_age=remaining,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
