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
_COMMON = frozenset({"type", "mode", "notify_key"})
DEFAULT_TIMEOUT = 10.0


class NotifyTarget(Spec):
    """One notification target (see the module docstring for the fields of each type)."""

    type: TargetType = "queue"
    mode: NotifyMode = "Finish"
    notify_key: Annotated[str, Field(max_length=256)] = ""
    name: Annotated[str, Field(max_length=128)] = ""
    url: Annotated[str, Field(max_length=2048)] = ""
    secret: Annotated[str, Field(max_length=256)] = ""
    timeout: Annotated[float, Field(gt=0, le=60)] = DEFAULT_TIMEOUT
    stream: Annotated[str, Field(max_length=256)] = ""
    max_len: Annotated[int | None, Field(ge=1)] = None
    queue: Annotated[str, Field(max_length=255)] = ""
    exchange: Annotated[str, Field(max_length=255)] = ""
    routing_key: Annotated[str, Field(max_length=255)] = ""

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
