"""``/v1/queues/{queue}/messages``: the embedded notification queue.

``POST /v1/queues/{queue}/messages:receive`` hands out visible messages (long polling up
to ``wait_seconds``); ``DELETE /v1/queues/{queue}/messages/{receipt}`` acknowledges one.
A queue belongs to the account whose tasks write to it; it exists once it has a message.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body, Path, Response, status

from reelflow.api.rest.deps import AccountDep, known_query_only
from reelflow.api.rest.schemas.common import error_responses
from reelflow.api.rest.schemas.queues import MessageOut, ReceiveIn, ReceiveOut
from reelflow.errors import SpecError
from reelflow.specs.notify import QUEUE_NAME
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import QueuesDep

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/queues",
    tags=["queues"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)

# A long poll looks again this often even when not rung: messages put by another server
# and messages whose visibility timeout ended ring no bell here.
RECHECK_SECONDS = 1.0

QueueName = Annotated[
    str,
    Path(
        description="The queue's name (a notification target's name).",
        # Stated here, checked by _check_name (which names the rule in its message).
        json_schema_extra={"pattern": QUEUE_NAME.pattern},
    ),
]


def _check_name(queue: str) -> str:
    if not QUEUE_NAME.match(queue):
        raise SpecError(
            f"queue: {queue!r} is not a queue name (1-128 letters, digits, '.', '_', '-')",
            field="queue",
        )
    return queue


@router.post(
    "/{queue}/messages:receive",
    response_model=ReceiveOut,
    summary="Receive messages (long polling); acknowledge each with DELETE",
    responses=error_responses(413),
)
async def receive_messages(
    queue: QueueName,
    queues: QueuesDep,
    account: AccountDep,
    body: Annotated[ReceiveIn | None, Body()] = None,
) -> ReceiveOut:
    params = body or ReceiveIn()
    key = (account.id, _check_name(queue))
    receive = functools.partial(
        queues.receive,
        account.id,
        queue,
        max_messages=params.max_messages,
        visibility_timeout=params.visibility_timeout,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + params.wait_seconds
    while True:
        seen = queues.doorbell.version(key)
        messages = await anyio.to_thread.run_sync(receive)
        remaining = deadline - loop.time()
        if messages or remaining <= 0:
            return ReceiveOut(messages=[MessageOut.of(m) for m in messages])
        await queues.doorbell.wait(key, seen, min(remaining, RECHECK_SECONDS))


@router.delete(
    "/{queue}/messages/{receipt}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Acknowledge (delete) a received message",
    responses=error_responses(404),
)
def ack_message(
    queue: QueueName,
    receipt: Annotated[str, Path(max_length=128)],
    queues: QueuesDep,
    account: AccountDep,
) -> Response:
    queues.ack(account.id, _check_name(queue), receipt)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
