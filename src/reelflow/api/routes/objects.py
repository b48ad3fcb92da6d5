"""``/v1/buckets``: the account's buckets and their objects.

Bodies are streamed both ways, never held whole in memory: an upload goes from the request
stream into ``Storage.put_upload`` in a worker thread (see ``reelflow.api.streams``); a
download streams ``Storage.open_read`` out, honouring a single ``Range``. Both are shared
with the console (``reelflow.api.objects_common``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from reelflow.api import convertors
from reelflow.api.deps import AccountDep, BucketDep, KeyDep, RuntimeDep
from reelflow.api.objects_common import object_headers, store_upload, stream_object
from reelflow.api.schemas.common import error_responses
from reelflow.api.schemas.objects import BucketList, BucketOut, ObjectOut, ObjectPage

convertors.register()  # before the routes below compile "{key:objectkey}"

router = APIRouter(prefix="/v1/buckets", tags=["objects"], responses=error_responses(400, 401, 404))
_BINARY = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
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
    return ObjectOut.of(await store_upload(request, storage, key, account.id))


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
    return stream_object(storage, info, range_, object_headers(info))


@router.head("/{bucket}/objects/{key:objectkey}", summary="Describe an object (headers only)")
def head_object(storage: BucketDep, key: KeyDep) -> Response:
    info = storage.stat(key)
    return Response(headers=object_headers(info), media_type=info.content_type)


@router.delete(
    "/{bucket}/objects/{key:objectkey}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an object (deleting a missing object succeeds)",
)
def delete_object(storage: BucketDep, key: KeyDep) -> Response:
    storage.delete(key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
