"""Objects through the console's session: streamed uploads and downloads.

``PUT /console/buckets/{b}/objects/{key}`` is the drag-and-drop upload: the page's script
sends the file as the raw body with the session's ``X-CSRF-Token``; the body streams into
storage (never whole in memory, see ``reelflow.api.streams``) and then fires the upload
hook, as the native API's PUT does. The app's body limit knows this path as an upload.

``GET`` streams an object with ``Range`` support, for previews and downloads. Objects are
user content served from the console's origin, so the response is sandboxed
(``Content-Security-Policy: sandbox``) and anything but images, audio, video and text is
sent as an attachment, never rendered.
"""

from __future__ import annotations

import logging
from email.utils import format_datetime
from functools import partial
from typing import Annotated
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.responses import Response

from reelflow.api import convertors
from reelflow.api.console.deps import CsrfHeaderDep, RuntimeDep, UserDep, runtime_of
from reelflow.api.console.routing import ConsoleRoute
from reelflow.api.ranges import parse_range
from reelflow.api.streams import aiter_stream, store_body
from reelflow.storage.base import ObjectInfo
from reelflow.storage.keys import validate_key

logger = logging.getLogger(__name__)

convertors.register()  # before the routes below compile "{key:objectkey}"

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

OBJECT_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
)
_INLINE_PREFIXES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
                    "video/", "audio/", "text/plain", "text/vtt")  # fmt: skip


def _disposition(key: str, content_type: str, download: bool) -> str:
    name = key.rsplit("/", 1)[-1]
    inline = not download and content_type.startswith(_INLINE_PREFIXES)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename*=UTF-8''{quote(name, safe='')}"


def _headers(info: ObjectInfo, download: bool) -> dict[str, str]:
    return {
        "ETag": f'"{info.etag}"',
        "Last-Modified": format_datetime(info.modified, usegmt=True),
        "Accept-Ranges": "bytes",
        "Content-Length": str(info.size),
        "Content-Disposition": _disposition(info.key, info.content_type, download),
        "Content-Security-Policy": OBJECT_POLICY,
        "Cache-Control": "private, no-cache",
    }


@router.put("/buckets/{bucket}/objects/{key:objectkey}")
async def upload(request: Request, bucket: str, key: str, user: CsrfHeaderDep) -> Response:
    runtime = runtime_of(request)
    await to_thread.run_sync(runtime.buckets.check_access, user.account.id, bucket)
    key = validate_key(key)
    storage = runtime.storages.get(bucket)
    content_type = request.headers.get("content-type") or None
    put = partial(storage.put_upload, key, content_type=content_type)
    info = await store_body(request.stream(), put)
    hook = request.app.state.on_upload
    if hook is not None:
        try:
            await to_thread.run_sync(hook, user.account.id, bucket, key)
        except Exception:
            # Stored is stored: the upload succeeded whatever its trigger did (the hook
            # records its own failures).
            logger.exception("upload hook failed for %s/%s", bucket, key)
    body = {"bucket": bucket, "key": info.key, "size": info.size, "etag": info.etag}
    return JSONResponse(body, status_code=201)


@router.get("/buckets/{bucket}/objects/{key:objectkey}")
def download(
    bucket: str,
    key: str,
    runtime: RuntimeDep,
    user: UserDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
    download: Annotated[bool, Query()] = False,
) -> Response:
    runtime.buckets.check_access(user.account.id, bucket)
    storage = runtime.storages.get(bucket)
    info = storage.stat(validate_key(key))
    wanted = parse_range(range_, info.size)
    headers = _headers(info, download)
    if wanted is None:
        stream = storage.open_read(info.key)
        status = 200
    else:
        stream = storage.open_read(info.key, wanted.start, wanted.end)
        headers["Content-Range"] = wanted.content_range
        headers["Content-Length"] = str(wanted.length)
        status = 206
    return StreamingResponse(
        aiter_stream(stream), status_code=status, headers=headers, media_type=info.content_type
    )
