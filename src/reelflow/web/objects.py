"""Object uploads and downloads as both the REST API and the console serve them.

:func:`store_upload` streams a request's body into a bucket (see ``reelflow.web.streams``)
and then fires the app's upload hook, reporting the tasks it started; :func:`stream_object`
answers a ``GET`` with the whole object (200) or the one ``Range`` asked for (206). The
routes add their own headers and bodies around them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.utils import format_datetime
from functools import partial

from anyio import to_thread
from fastapi import Request, status
from fastapi.responses import StreamingResponse

from reelflow.catalog.workflows import Workflows
from reelflow.storage.base import ObjectInfo, Storage
from reelflow.triggers.dispatch import Fired
from reelflow.web.ranges import parse_range
from reelflow.web.socket_body import body_socket
from reelflow.web.streams import aiter_stream, store_body

logger = logging.getLogger(__name__)


def object_headers(info: ObjectInfo) -> dict[str, str]:
    """The headers that describe an object (of a ``GET`` and ``HEAD`` of the whole object)."""
    return {
        "ETag": f'"{info.etag}"',
        "Last-Modified": format_datetime(info.modified, usegmt=True),
        "Accept-Ranges": "bytes",
        "Content-Length": str(info.size),
    }


@dataclass(frozen=True)
class StoredUpload:
    """An upload's object and the tasks its workflows started (``Fired.new`` false: this
    same object version had started that task before)."""

    info: ObjectInfo
    tasks: list[Fired] = field(default_factory=list)


async def store_upload(
    request: Request, storage: Storage, key: str, account_id: int, workflows: Workflows
) -> StoredUpload:
    """Store the body of ``request`` as ``key`` (a validated key), then run the upload hook
    and log one line saying what the upload started (or that no enabled workflow matched,
    among ``workflows``).

    The hook's failure does not fail the upload: the object is stored whatever its trigger
    did. The hook records its own failures; here it is only logged, with its traceback.
    """
    content_type = request.headers.get("content-type") or None
    put = partial(storage.put_upload, key, content_type=content_type)
    info = await store_body(request.stream(), put, body_socket(request.scope))
    hook = request.app.state.on_upload
    if hook is None:
        return StoredUpload(info)  # an app without triggers (tests, tools): nothing to say
    try:
        fired = await to_thread.run_sync(hook, account_id, storage.name, key)
    except Exception:
        logger.exception("upload hook failed for %s/%s: no task started", storage.name, key)
        return StoredUpload(info)
    tasks: list[Fired] = list(fired or [])  # a hook that reports nothing started nothing
    where = f"upload {storage.name}/{key} ({info.size} bytes)"
    if tasks:
        started = ", ".join(
            f"{t.task_id} (workflow {t.workflow_id}{'' if t.new else ', started before'})"
            for t in tasks
        )
        logger.info("%s: tasks %s", where, started)
        return StoredUpload(info, tasks)
    matching = await to_thread.run_sync(workflows.matching, storage.name, key)
    if not matching:
        logger.info("%s: no task started, no enabled workflow matches it", where)
    else:
        logger.info(
            "%s: no task started, though workflow(s) %s match it (see the messages above)",
            where,
            ", ".join(str(w.id) for w in matching),
        )
    return StoredUpload(info)


def stream_object(
    storage: Storage, info: ObjectInfo, range_: str | None, headers: dict[str, str]
) -> StreamingResponse:
    """The object ``info`` of ``storage``, whole (200) or the ``Range`` header's bytes (206,
    with ``Content-Range``; 416 if unsatisfiable). ``headers`` (updated here for a range)
    are the response's: :func:`object_headers` and any of the route's own.
    """
    wanted = parse_range(range_, info.size)
    if wanted is None:
        stream = storage.open_read(info.key)
        code = status.HTTP_200_OK
    else:
        stream = storage.open_read(info.key, wanted.start, wanted.end)
        headers["Content-Range"] = wanted.content_range
        headers["Content-Length"] = str(wanted.length)
        code = status.HTTP_206_PARTIAL_CONTENT
    return StreamingResponse(
        aiter_stream(stream), status_code=code, headers=headers, media_type=info.content_type
    )
