"""``/v1/buckets``: the account's buckets and their objects.

Bodies are streamed both ways, never held whole in memory: an upload goes from the request
stream into ``Storage.put_upload`` in a worker thread (see ``reelflow.web.streams``); a
download streams ``Storage.open_read`` out, honouring a single ``Range``. Both are shared
with the console (``reelflow.web.objects``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from reelflow.api.rest.deps import BUCKET_PATTERN, AccountDep, BucketDep, KeyDep, known_query_only
from reelflow.api.rest.schemas.common import ErrorResponse, error_responses
from reelflow.api.rest.schemas.deferred import DeferredStart
from reelflow.api.rest.schemas.objects import (
    BucketList,
    BucketOut,
    ObjectOut,
    ObjectPage,
    StartedTask,
    UploadOut,
)
from reelflow.errors import SpecError
from reelflow.web import convertors
from reelflow.web.errors import HttpError
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.objects import object_headers, store_upload, stream_object
from reelflow.web.services import BucketFoldersDep, BucketsDep, WorkflowsDep

convertors.register()  # before the routes below compile "{key:objectkey}"

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/buckets",
    tags=["objects"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)
_BINARY = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}
# A download's Content-Type is the one the object was uploaded with.
_ANY_TYPE = {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}


@router.get("", response_model=BucketList, summary="List the account's buckets")
def list_buckets(buckets: BucketsDep, account: AccountDep) -> BucketList:
    return BucketList(buckets=[BucketOut.of(b) for b in buckets.list(account.id)])


@router.put(
    "/{bucket}",
    response_model=BucketOut,
    status_code=201,
    summary="Create a local bucket owned by the caller's account",
    responses={
        409: {
            "model": ErrorResponse,
            "description": "A bucket of this name exists (`FailedOperation.BucketAlreadyExists`).",
        }
    },
)
def create_bucket(
    # The pattern is stated; create_bucket checks it (InvalidParameterValue.Bucket says why).
    bucket: Annotated[
        str, Path(description="Bucket name.", json_schema_extra={"pattern": BUCKET_PATTERN})
    ],
    bucket_folders: BucketFoldersDep,
    account: AccountDep,
) -> BucketOut:
    return BucketOut.of(bucket_folders.create(account, bucket))


@router.get(
    "/{bucket}/objects",
    response_model=ObjectPage,
    summary="List objects",
    responses=error_responses(404),
)
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
    response_model=UploadOut,
    summary="Upload an object (streamed; replaces any object with this key atomically)",
    description="The body is the object: at least one byte, with `Content-Length` or "
    "chunked. A request without a body is refused (411), and so is an empty one (400 "
    "`InvalidParameterValue.Body`): an empty object is no media, and a PUT without a body "
    "is more likely a client's mistake than a wish to store nothing. The answer lists the "
    "tasks the upload started (`tasks`, one per enabled workflow whose trigger matches the "
    "key; empty when none does).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary", "minLength": 1}
                }
            },
        }
    },
    responses=error_responses(404, 408, 411, 413),
)
async def put_object(
    request: Request,
    storage: BucketDep,
    key: KeyDep,
    account: AccountDep,
    workflows: WorkflowsDep,
) -> UploadOut:
    _require_body(request)
    stored = await store_upload(request, storage, key, account.id, workflows)
    tasks = [StartedTask.of(fired) for fired in stored.tasks if not fired.deferred]
    deferred = [DeferredStart.of(fired) for fired in stored.tasks if fired.deferred]
    return UploadOut(**ObjectOut.of(stored.info).model_dump(), tasks=tasks, deferred=deferred)


def _require_body(request: Request) -> None:
    """Refuse an upload without a body: in HTTP/1.x, neither ``Content-Length`` nor a
    chunked body means the body is empty (RFC 9112 6.3), which is 411 (a length is
    required); ``Content-Length: 0`` is 400. HTTP/2 may omit the length of a real body."""
    length = request.headers.get("content-length")
    if length is None:
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if chunked or not request.scope.get("http_version", "1.1").startswith("1"):
            return
        raise HttpError(
            411,
            "MissingParameter.ContentLength",
            "an upload needs a body: send it with Content-Length (or chunked)",
        )
    if length.strip() == "0":
        raise SpecError(
            "the body is empty: an object needs at least one byte",
            code="InvalidParameterValue.Body",
            field="body",
        )


@router.get(
    "/{bucket}/objects/{key:objectkey}",
    response_class=StreamingResponse,
    summary="Download an object (Range: bytes=a-b, a-, -n)",
    responses={
        200: {"description": "The object", **_ANY_TYPE},
        206: {"description": "Partial content", **_ANY_TYPE},
        **error_responses(404, 416),
    },
)
def get_object(
    storage: BucketDep,
    key: KeyDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> StreamingResponse:
    info = storage.stat(key)
    return stream_object(storage, info, range_, object_headers(info))


@router.head(
    "/{bucket}/objects/{key:objectkey}",
    response_class=Response,
    summary="Describe an object (headers only)",
    responses={200: {"description": "The object's headers", **_ANY_TYPE}, **error_responses(404)},
)
def head_object(storage: BucketDep, key: KeyDep) -> Response:
    info = storage.stat(key)
    return Response(headers=object_headers(info), media_type=info.content_type)


@router.delete(
    "/{bucket}/objects/{key:objectkey}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an object (deleting a missing object succeeds)",
    responses=error_responses(404),
)
def delete_object(storage: BucketDep, key: KeyDep) -> Response:
    storage.delete(key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
