"""Where a task's events go: ``NotifyTarget``, per workflow or per task.

    type    fields                                         sink
    queue   name                                           embedded queue (the default)
    url     url, secret, timeout                           signed webhook (JSON POST)
    redis   url, stream, max_len                           Redis stream (XADD)
    amqp    url, queue | exchange (+ routing_key)          RabbitMQ (publisher confirms)

Every type also takes ``mode`` (``Finish``: one event when the task ends; ``Change``: also
when it starts and as each sub-task ends) and ``notify_key`` (the compatible API's
``NotifyKey``: the body then carries ``Timestamp`` and ``Sign``). A field that does not
belong to the type is an error, like any unknown field: it would be silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from reelflow.specs.base import Spec

TargetType = Literal["queue", "url", "redis", "amqp"]
NotifyMode = Literal["Finish", "Change"]

QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SCHEMES: dict[str, tuple[str, ...]] = {
    "url": ("http", "https"),
    "redis": ("redis", "rediss", "unix"),
    "amqp": ("amqp", "amqps"),
}
# Which optional fields each type accepts (``type``, ``mode`` and ``notify_key`` always).
_FIELDS: dict[str, frozenset[str]] = {
    "queue": frozenset({"name"}),
    "url": frozenset({"url", "secret", "timeout"}),
    "redis": frozenset({"url", "stream", "max_len", "timeout"}),
    "amqp": frozenset({"url", "queue", "exchange", "routing_key", "timeout"}),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "queue": ("name",),
    "url": ("url",),
    "redis": ("url", "stream"),
    "amqp": ("url",),
}
_COMMON = frozenset({"type", "mode", "notify_key", "echo"})
DEFAULT_TIMEOUT = 10.0


class NotifyTarget(Spec):
    """Where a task's events go: one target, by ``type``, with that type's fields only.

    - ``queue`` (the default): ``name``, an embedded queue clients pull from
      (``POST /v1/queues/{name}/messages:receive``).
    - ``url``: ``url`` (http/https), ``secret`` (signs each body, header
      ``X-Reelflow-Signature``), ``timeout``: a webhook, one JSON ``POST`` per event.
    - ``redis``: ``url`` (redis://, rediss://, unix://), ``stream``, ``max_len``, ``timeout``:
      ``XADD`` to a Redis stream.
    - ``amqp``: ``url`` (amqp://, amqps://), ``queue`` or ``exchange`` (+ ``routing_key``),
      ``timeout``: RabbitMQ, with publisher confirms.

    Every type also takes ``mode`` and ``notify_key``. A field of another type is refused.
    """

    type: TargetType = Field(default="queue", description="queue, url, redis or amqp.")
    mode: NotifyMode = Field(
        default="Finish",
        description="Finish: one event when the task ends; Change: also when it starts and "
        "as each sub-task ends.",
    )
    notify_key: Annotated[str, Field(max_length=256)] = Field(
        default="",
        description="The compatible API's NotifyKey: the body then carries Timestamp and Sign.",
    )
    echo: dict[str, Annotated[str, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=8,
        description="The compatible API's TaskNotifyConfig members that select nothing here "
        "(NotifyType as sent, CmqModel, CmqRegion), kept so that answers repeat them.",
    )
    name: Annotated[str, Field(max_length=128)] = Field(
        default="", description="queue: the queue's name (letters, digits, '.', '_', '-')."
    )
    url: Annotated[str, Field(max_length=2048)] = Field(
        default="", description="url, redis, amqp: where to connect (through the egress policy)."
    )
    secret: Annotated[str, Field(max_length=256)] = Field(
        default="", description="url: the key that signs each body (HMAC-SHA256)."
    )
    timeout: Annotated[float, Field(gt=0, le=60)] = Field(
        default=DEFAULT_TIMEOUT, description="url, redis, amqp: seconds per send."
    )
    stream: Annotated[str, Field(max_length=256)] = Field(
        default="", description="redis: the stream to XADD to."
    )
    max_len: Annotated[int | None, Field(ge=1)] = Field(
        default=None, description="redis: trim the stream to about this many entries."
    )
    queue: Annotated[str, Field(max_length=255)] = Field(
        default="", description="amqp: the queue to publish to (default exchange)."
    )
    exchange: Annotated[str, Field(max_length=255)] = Field(
        default="", description="amqp: the exchange to publish to, instead of a queue."
    )
    routing_key: Annotated[str, Field(max_length=255)] = Field(
        default="", description="amqp: the routing key with an exchange."
    )

    @model_validator(mode="after")
    def _check(self) -> NotifyTarget:
        allowed = _FIELDS[self.type] | _COMMON
        stray = sorted(f for f in self.model_fields_set - allowed if _is_set(self, f))
        if stray:
            raise ValueError(f"{', '.join(stray)}: not a field of a {self.type!r} target")
        missing = [f for f in _REQUIRED[self.type] if not getattr(self, f)]
        if missing:
            raise ValueError(f"a {self.type!r} target needs {' and '.join(missing)}")
        if self.type == "queue" and not QUEUE_NAME.match(self.name):
            raise ValueError(
                "name: a queue name is 1-128 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if self.type in _SCHEMES:
            _check_url(self.url, _SCHEMES[self.type])
        if self.type == "amqp" and bool(self.queue) == bool(self.exchange):
            raise ValueError("an 'amqp' target needs exactly one of queue and exchange")
        if self.type == "amqp" and self.queue and self.routing_key:
            raise ValueError("routing_key: goes with exchange (a queue is its own routing key)")
        return self

    @property
    def change_events(self) -> bool:
        """Whether the target also wants task-started and sub-task-finished events."""
        return self.mode == "Change"

    def key(self) -> str:
        """A stable hash of where events go (not how): one per destination."""
        where = self.to_json()
        where.pop("mode", None)
        where.pop("echo", None)
        raw = json.dumps(where, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    def redacted(self) -> dict[str, object]:
        """``to_json()`` with secrets masked: for responses and records."""
        data: dict[str, object] = dict(self.to_json())
        for field in ("secret", "notify_key"):
            if data.get(field):
                data[field] = "***"
        if self.url:
            data["url"] = _without_password(self.url)
        return data

    def describe(self) -> str:
        """Where events go, without secrets (for logs, records and the API)."""
        if self.type == "queue":
            return f"queue {self.name}"
        where = _without_password(self.url)
        if self.type == "redis":
            return f"redis {where} stream {self.stream}"
        if self.type == "amqp":
            dest = f"queue {self.queue}" if self.queue else f"exchange {self.exchange}"
            return f"amqp {where} {dest}"
        return f"webhook {where}"


def _is_set(target: NotifyTarget, field: str) -> bool:
    value = getattr(target, field)
    default = NotifyTarget.model_fields[field].default
    return bool(value != default)


def _check_url(url: str, schemes: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"url: {exc}") from None
    if parts.scheme not in schemes:
        raise ValueError(f"url: must start with {' or '.join(s + '://' for s in schemes)}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError("url: has no host")
    if any(ch.isspace() for ch in url):
        raise ValueError("url: must not contain whitespace")


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
