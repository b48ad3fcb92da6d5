"""``/v1/queues/{queue}/messages``: receive (in and out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from reelflow.api.rest.schemas.common import RequestModel, ResponseModel, json_integers
from reelflow.notify.queues import DEFAULT_VISIBILITY, MAX_MESSAGES, MAX_VISIBILITY, ReceivedMessage

MAX_WAIT = 20


class ReceiveIn(RequestModel):
    """All optional: by default one message, at once, hidden for 30 s."""

    wait_seconds: Annotated[
        int, Field(ge=0, le=MAX_WAIT, description="Long polling: wait up to this long.")
    ] = 0
    visibility_timeout: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_VISIBILITY,
            description="Seconds a received message stays hidden unless acknowledged.",
        ),
    ] = DEFAULT_VISIBILITY
    max_messages: Annotated[int, Field(ge=1, le=MAX_MESSAGES)] = 1

    _integers = json_integers("wait_seconds", "visibility_timeout", "max_messages")


class MessageOut(ResponseModel):
    """One received message of an embedded queue: the event and the receipt to acknowledge it
    with."""

    receipt: str = Field(description="Acknowledge with DELETE .../messages/{receipt}.")
    event_id: str
    receive_count: int = Field(
        description="How often the message was handed out, this time included."
    )
    sent_at: datetime
    body: dict[str, Any] = Field(description="The event, as the compatible API's notification.")

    @classmethod
    def of(cls, message: ReceivedMessage) -> MessageOut:
        return cls(
            receipt=message.receipt,
            event_id=message.event_id,
            receive_count=message.receive_count,
            sent_at=message.sent_at,
            body=message.body,
        )


class ReceiveOut(ResponseModel):
    """The messages received (none when `wait_seconds` passed without one)."""

    messages: list[MessageOut]
