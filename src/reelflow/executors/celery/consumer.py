"""The worker's Celery consumer, reconnecting to the broker at a steady pace.

Celery's consumer retries a lost broker connection with kombu's defaults: 2 s, then 4, 6,
... up to 30 s between tries, so a worker may start consuming again half a minute after
the broker is back. reelflow's jobs are short-lived claims that the server re-sends, so the
consumer retries every ``RECONNECT_MAX`` seconds at most; a try costs one TCP connect.
"""

from __future__ import annotations

import functools
from typing import Any

# Seconds between two tries to reach the broker again, at most.
RECONNECT_START = 1.0
RECONNECT_MAX = 5.0


def consumer_class() -> type[Any]:
    """Celery's ``Consumer`` with a shorter reconnect backoff (for ``app.Worker``)."""
    from celery.worker.consumer import Consumer

    class ReconnectingConsumer(Consumer):  # type: ignore[misc]
        def ensure_connected(self, conn: Any) -> Any:
            # Celery calls ``conn.ensure_connection`` with kombu's default intervals;
            # narrow them for this connection only.
            conn.ensure_connection = functools.partial(
                conn.ensure_connection,
                interval_start=RECONNECT_START,
                interval_step=RECONNECT_START,
                interval_max=RECONNECT_MAX,
            )
            return super().ensure_connected(conn)

    return ReconnectingConsumer
