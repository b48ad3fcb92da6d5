"""A Redis stream: ``XADD <stream> * event_id <id> task_id <id> seq <n> type <kind>
body <json>`` (optionally trimmed with ``MAXLEN ~ max_len``).

redis-py (``pip install reelflow[redis]``): the reference client, typed, thread-safe
through its connection pool. Its connections are opened through the egress policy: the
host is resolved once per connection, every address checked, and the socket connected to a
checked address (TLS still verifies the name). A ``unix://`` socket is local: allowed only
when the policy allows loopback.
"""

from __future__ import annotations

import socket
from typing import Any

from reelflow.errors import ConfigError, UrlNotAllowed
from reelflow.net.egress import EgressPolicy
from reelflow.net.sockets import connect
from reelflow.notify.sinks.base import DeliveryOutcome, OutgoingEvent, Sink

try:
    import redis
    from redis.typing import EncodableT, FieldT
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigError(
        "a 'redis' notification target needs redis-py: pip install 'reelflow[redis]'"
    ) from exc


class _GuardedConnection(redis.Connection):
    """A TCP connection whose socket comes from ``reelflow.net.sockets.connect``."""

    egress: EgressPolicy = EgressPolicy()

    def _connect(self) -> socket.socket:
        sock = connect(self.egress, self.host, self.port, timeout=self.socket_connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.socket_keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.settimeout(self.socket_timeout)
        except OSError:
            sock.close()
            raise
        return sock


class _GuardedSSLConnection(redis.SSLConnection, _GuardedConnection):
    """``rediss://``: redis-py's TLS wrapping around the guarded socket."""


def _connection_class(url: str, egress: EgressPolicy) -> type[redis.Connection] | None:
    """The guarded connection class for ``url``'s scheme (``None``: redis-py's own, for an
    allowed ``unix://`` socket)."""
    if url.startswith("unix:"):
        egress.check_host("localhost")  # a local socket is loopback for the policy
        return None
    base = _GuardedSSLConnection if url.startswith("rediss:") else _GuardedConnection
    return type(base.__name__, (base,), {"egress": egress})


class RedisStreamSink(Sink):
    def __init__(
        self,
        url: str,
        stream: str,
        *,
        max_len: int | None,
        timeout: float,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._stream = stream
        self._max_len = max_len
        options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        try:
            connection_class = _connection_class(url, egress or EgressPolicy())
        except UrlNotAllowed as exc:
            self._refused: UrlNotAllowed | None = exc
            connection_class = None
        else:
            self._refused = None
        if connection_class is not None:
            options["connection_class"] = connection_class
        self._client: redis.Redis = redis.Redis.from_url(url, **options)

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        if self._refused is not None:
            raise self._refused
        fields: dict[FieldT, EncodableT] = {
            "event_id": event.event_id,
            "task_id": event.task_id,
            "seq": event.seq,
            "type": event.type.value,
            "body": event.body,
        }
        try:
            self._client.xadd(self._stream, fields, maxlen=self._max_len, approximate=True)
        except redis.RedisError as exc:
            return DeliveryOutcome.failed(f"redis: {type(exc).__name__}: {exc}")
        return DeliveryOutcome.delivered()

    def close(self) -> None:
        self._client.close()
