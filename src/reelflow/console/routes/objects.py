"""Objects through the console's session: streamed uploads and downloads.

``PUT /console/buckets/{b}/objects/{key}`` is the drag-and-drop upload: the page's script
sends the file as the raw body with the session's ``X-CSRF-Token``; the body streams into
storage (never whole in memory, see ``reelflow.web.streams``) and then fires the upload
hook, as the native API's PUT does. The app's body limit knows this path as an upload.

``GET`` streams an object with ``Range`` support, for previews and downloads. Objects are
user content served from the console's origin, so the response is sandboxed
(``Content-Security-Policy: sandbox``) and anything but images, audio, video and text is
sent as an attachment, never rendered.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from reelflow.console.deps import CsrfHeaderDep, UserDep
from reelflow.console.routing import ConsoleRoute
from reelflow.object_keys import validate_key
from reelflow.storage.base import ObjectInfo
from reelflow.web import convertors
from reelflow.web.objects import object_headers, store_upload, stream_object
from reelflow.web.services import BucketsDep, StoragesDep, WorkflowsDep

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
        **object_headers(info),
        "Content-Disposition": _disposition(info.key, info.content_type, download),
        "Content-Security-Policy": OBJECT_POLICY,
        "Cache-Control": "private, no-cache",
    }


@router.put("/buckets/{bucket}/objects/{key:objectkey}")
async def upload(
    request: Request,
    bucket: str,
    key: str,
    user: CsrfHeaderDep,
    buckets: BucketsDep,
    storages: StoragesDep,
    workflows: WorkflowsDep,
) -> Response:
    await to_thread.run_sync(buckets.check_access, user.account.id, bucket)
    key = validate_key(key)
    storage = storages.get(bucket)
    stored = await store_upload(request, storage, key, user.account.id, workflows)
    info = stored.info
    tasks = [{"task_id": t.task_id, "workflow_id": t.workflow_id, "created": t.new}
             for t in stored.tasks if not t.deferred]  # fmt: skip
    deferred = [{"workflow_id": t.workflow_id, "schedule": t.schedule}
                for t in stored.tasks if t.deferred]  # fmt: skip
    body = {"bucket": bucket, "key": info.key, "size": info.size, "etag": info.etag,
            "tasks": tasks, "deferred": deferred}  # fmt: skip
    return JSONResponse(body, status_code=201)


@router.get("/buckets/{bucket}/objects/{key:objectkey}")
def download(
    bucket: str,
    key: str,
    buckets: BucketsDep,
    storages: StoragesDep,
    user: UserDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
    download: Annotated[bool, Query()] = False,
) -> Response:
    buckets.check_access(user.account.id, bucket)
    storage = storages.get(bucket)
    info = storage.stat(validate_key(key))
    return stream_object(storage, info, range_, _headers(info, download))
