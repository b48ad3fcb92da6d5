"""``/v1/buckets``: the account's buckets and their objects.

Bodies are streamed both ways, never held whole in memory: an upload goes from the request
stream into ``Storage.put_upload`` in a worker thread (see ``reelflow.api.streams``); a
download streams ``Storage.open_read`` out, honouring a single ``Range``.
"""

from __future__ import annotations

import logging
from email.utils import format_datetime
from functools import partial
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from reelflow.api import convertors
from reelflow.api.deps import AccountDep, BucketDep, KeyDep, RuntimeDep
from reelflow.api.ranges import parse_range
from reelflow.api.schemas.common import error_responses
from reelflow.api.schemas.objects import BucketList, BucketOut, ObjectOut, ObjectPage
from reelflow.api.streams import aiter_stream, store_body
from reelflow.storage.base import ObjectInfo

logger = logging.getLogger(__name__)

convertors.register()  # before the routes below compile "{key:objectkey}"

router = APIRouter(prefix="/v1/buckets", tags=["objects"], responses=error_responses(400, 401, 404))
_BINARY = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}


def _headers(info: ObjectInfo) -> dict[str, str]:
    return {
        "ETag": f'"{info.etag}"',
        "Last-Modified": format_datetime(info.modified, usegmt=True),
        "Accept-Ranges": "bytes",
        "Content-Length": str(info.size),
    }


@router.get("", response_model=BucketList, summary="List the account's buckets")
def list_buckets(runtime: RuntimeDep, account: AccountDep) -> BucketList:
    return BucketList(buckets=[BucketOut.of(b) for b in runtime.buckets.list(account.id)])


@router.put(
    "/{bucket}",
    response_model=BucketOut,
    status_code=201,
    summary="Create a local bucket owned by the caller's account",
)
def create_bucket(bucket: str, runtime: RuntimeDep, account: AccountDep) -> BucketOut:
    return BucketOut.of(runtime.create_bucket(account, bucket))


@router.get("/{bucket}/objects", response_model=ObjectPage, summary="List objects")
def list_objects(
    storage: BucketDep,
    prefix: Annotated[str, Query(max_length=1024, description="Plain key prefix.")] = "",
    start_after: Annotated[str, Query(max_length=1024, description="Keys after this.")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ObjectPage:
    found = storage.list(prefix, start_after=start_after, limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return ObjectPage(
        bucket=storage.name,
        prefix=prefix,
        objects=[ObjectOut.of(info) for info in page],
        next_start_after=page[-1].key if more else None,
    )


@router.put(
    "/{bucket}/objects/{key:objectkey}",
    response_model=ObjectOut,
    summary="Upload an object (streamed; replaces any object with this key atomically)",
    openapi_extra={"requestBody": {"required": True, **_BINARY}},
    responses=error_responses(408, 413),
)
async def put_object(
    request: Request, storage: BucketDep, key: KeyDep, account: AccountDep
) -> ObjectOut:
    content_type = request.headers.get("content-type") or None
    put = partial(storage.put_upload, key, content_type=content_type)
    info = await store_body(request.stream(), put)
    hook = request.app.state.on_upload
    if hook is not None:
        try:
            await to_thread.run_sync(hook, account.id, storage.name, key)
        except Exception:
            # The object is stored: the upload succeeded whatever its trigger did. The hook
            # records its own failures; here it is only logged, with its traceback.
            logger.exception("upload hook failed for %s/%s", storage.name, key)
    return ObjectOut.of(info)


@router.get(
    "/{bucket}/objects/{key:objectkey}",
    response_class=StreamingResponse,
    summary="Download an object (Range: bytes=a-b, a-, -n)",
    responses={200: _BINARY, 206: {"description": "Partial content", **_BINARY}, 416: {}},
)
def get_object(
    storage: BucketDep,
    key: KeyDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> StreamingResponse:
    info = storage.stat(key)
    wanted = parse_range(range_, info.size)
    headers = _headers(info)
    if wanted is None:
        stream = storage.open_read(key)
        code = status.HTTP_200_OK
    else:
        stream = storage.open_read(key, wanted.start, wanted.end)
        headers["Content-Range"] = wanted.content_range
        headers["Content-Length"] = str(wanted.length)
        code = status.HTTP_206_PARTIAL_CONTENT
    return StreamingResponse(
        aiter_stream(stream), status_code=code, headers=headers, media_type=info.content_type
    )


@router.head("/{bucket}/objects/{key:objectkey}", summary="Describe an object (headers only)")
def head_object(storage: BucketDep, key: KeyDep) -> Response:
    info = storage.stat(key)
    return Response(headers=_headers(info), media_type=info.content_type)


@router.delete(
    "/{bucket}/objects/{key:objectkey}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an object (deleting a missing object succeeds)",
)
def delete_object(storage: BucketDep, key: KeyDep) -> Response:
    storage.delete(key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
