"""Rendering the console's Jinja2 templates into responses.

Templates live in ``console/templates`` (``base.html`` is the layout; ``_*.html`` are
fragments that htmx swaps in). Autoescaping is on for every template; undefined names fail
loudly. A page shown to a signed-in user carries the session's CSRF token and shows the
session's one-shot notice, which is then cleared from the cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from reelflow.console import formatting
from reelflow.console.deps import SignedIn
from reelflow.console.session import ConsoleSession, Sessions

# Pages show live data: never cached, never framed, scripts and styles only from here.
# media-src blob:: the stream players feed <video> a MediaSource through a blob: URL (one
# the page's own script made); their worker and segments come from 'self'.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def object_url(bucket: str, key: str, *, download: bool = False) -> str:
    """The console's (session-authenticated) URL of one object."""
    url = f"/console/buckets/{quote(bucket, safe='')}/objects/{quote(key.lstrip('/'), safe='/')}"
    return url + "?download=1" if download else url


def _environment(version: str) -> Environment:
    env = Environment(
        loader=PackageLoader("reelflow.console", "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        size=formatting.size,
        when=formatting.when,
        ago=formatting.ago,
        kind=formatting.kind_label,
        urlpart=lambda value: quote(str(value), safe=""),
        urlpath=lambda value: quote(str(value), safe="/"),
    )
    env.globals.update(
        object_url=object_url,
        duration=formatting.duration,
        static=lambda name: f"/console/static/{name}?v={version}",
    )
    return env


class Pages:
    def __init__(self, sessions: Sessions, version: str) -> None:
        self.sessions = sessions
        self.env = _environment(version)

    def html(self, name: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        user: SignedIn | None = None,
        session: ConsoleSession | None = None,
        status: int = 200,
        fragment: bool = False,
    ) -> HTMLResponse:
        """``name`` rendered for ``user`` (or for the anonymous ``session``: sign-in).

        A ``fragment`` (a part of a page that htmx refreshes) leaves the notice alone."""
        session = user.session if user is not None else session
        notice = session.notice if session is not None and not fragment else None
        full: dict[str, Any] = {
            "request": request,
            "path": request.url.path,
            "account": user.account if user is not None else None,
            "csrf_token": session.csrf if session is not None else "",
            "notice": notice,
            **(context or {}),
        }
        response = HTMLResponse(self.html(name, full), status_code=status)
        if session is not None and notice is not None:
            self.sessions.write(request, response, session.without_flash())
        return response

    def redirect(
        self,
        request: Request,
        url: str,
        *,
        user: SignedIn | None = None,
        notice: tuple[str, str] | None = None,
    ) -> Response:
        """303 to ``url`` (after a form), with a one-shot notice for the next page."""
        response = RedirectResponse(url, status_code=303)
        if user is not None and notice is not None:
            level, text = notice
            self.sessions.write(request, response, user.session.with_flash(level, text))
        return response
