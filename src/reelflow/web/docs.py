"""The API's reference pages, ``/docs`` (Swagger UI) and ``/redoc``, served offline.

Their scripts and styles come from the ``fastapi-offline`` wheel (mounted at
:data:`DOCS_ASSETS`), never from a CDN. ReDoc's bundle still shows a vendor logo loaded from
its CDN; the pages are answered with a Content-Security-Policy that lets them load only from
this server, so the browser never makes that request (the logo is left out).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
DOCS_ASSETS = "/docs-assets"
# Inline scripts and styles: the pages' own start-up script; the styles ReDoc injects.
# ReDoc's search runs in a worker made from a blob: URL.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'self'"
)


class DocsPolicy:
    """Adds :data:`POLICY` to the answers of the two pages; every other request passes
    through untouched (a plain ASGI wrapper: uploads are not slowed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in (DOCS_URL, REDOC_URL):
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)


def documented_app(**kwargs: Any) -> FastAPI:
    """``FastAPI(**kwargs)`` with the offline ``/docs`` and ``/redoc`` pages."""
    app = FastAPIOffline(
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url=DOCS_ASSETS,
        # Swagger UI would otherwise send the document to its online validator for a badge.
        swagger_ui_parameters={"validatorUrl": None},
        **kwargs,
    )
    app.add_middleware(DocsPolicy)
    return app
