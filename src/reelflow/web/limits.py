"""Request body limits: small JSON bodies everywhere, large streamed object uploads.

A pure ASGI middleware, so a body is refused before anything buffers it: a declared
``Content-Length`` over the limit is answered with 413 at once; a body sent without one
(chunked) is counted as it streams and ``receive`` raises ``RequestTooLarge`` the moment it
passes the limit, which aborts an upload before storage commits anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelflow.web.errors import RequestTooLarge, error_response

MiB = 1024 * 1024
GiB = 1024 * MiB

# PUT /v1/buckets/{bucket}/objects/{key} and the console's PUT /console/buckets/{bucket}/
# objects/{key} (drag-and-drop uploads): the only routes whose body is not JSON.
_UPLOAD_PATH = re.compile(r"^/(?:v1|console)/buckets/[^/]+/objects/.")


@dataclass(frozen=True)
class BodyLimits:
    """Largest accepted request bodies, in bytes."""

    json_body: int = 1 * MiB
    upload: int = 50 * GiB


def is_upload(scope: Scope) -> bool:
    return scope.get("method") == "PUT" and bool(_UPLOAD_PATH.match(scope.get("path", "")))


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.upload if is_upload(scope) else self.limits.json_body
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            error = RequestTooLarge(limit)
            response = error_response(413, "RequestTooLarge", str(error.detail))
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
