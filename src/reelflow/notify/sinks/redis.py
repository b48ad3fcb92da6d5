"""A Redis stream: ``XADD <stream> * event_id <id> task_id <id> seq <n> type <kind>
body <json>`` (optionally trimmed with ``MAXLEN ~ max_len``).

redis-py (``pip install reelflow[redis]``): the reference client, typed, thread-safe
through its connection pool.
"""

from __future__ import annotations

from reelflow.errors import ConfigError
from reelflow.notify.sinks.base import DeliveryOutcome, OutgoingEvent, Sink

try:
    import redis
    from redis.typing import EncodableT, FieldT
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigError(
        "a 'redis' notification target needs redis-py: pip install 'reelflow[redis]'"
    ) from exc


class RedisStreamSink(Sink):
    def __init__(self, url: str, stream: str, *, max_len: int | None, timeout: float) -> None:
        self._stream = stream
        self._max_len = max_len
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
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
