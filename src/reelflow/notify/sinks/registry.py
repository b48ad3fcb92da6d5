"""The one place that maps a target's ``type`` to its sink.

The Redis and AMQP sinks import their client library only when a target of their type is
first used; without it, that target's deliveries fail with a ``ConfigError`` naming the
extra to install, and every other target goes on working.
"""

from __future__ import annotations

import httpx

from reelflow.net.egress import EgressPolicy
from reelflow.net.http import GuardedTransport
from reelflow.notify.queues import MessageQueues
from reelflow.notify.sinks.base import Sink
from reelflow.notify.sinks.queue import QueueSink
from reelflow.notify.sinks.webhook import WebhookSink
from reelflow.specs.notify import NotifyTarget


class DefaultSinks:
    """``DefaultSinks(queues, egress=policy)``: a ``SinkFactory`` for every target type;
    ``close`` ends the HTTP client its webhooks share. Webhooks, Redis and AMQP targets
    connect only where ``egress`` allows (default: public addresses only)."""

    def __init__(self, queues: MessageQueues, *, egress: EgressPolicy | None = None) -> None:
        self._queues = queues
        self._egress = egress or EgressPolicy()
        self._http = httpx.Client(
            follow_redirects=False,
            transport=GuardedTransport(
                self._egress,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            ),
        )

    def __call__(self, target: NotifyTarget) -> Sink:
        if target.type == "queue":
            return QueueSink(self._queues, target.name)
        if target.type == "url":
            return WebhookSink(self._http, target.url, target.secret, target.timeout)
        if target.type == "redis":
            from reelflow.notify.sinks.redis import RedisStreamSink

            return RedisStreamSink(
                target.url,
                target.stream,
                max_len=target.max_len,
                timeout=target.timeout,
                egress=self._egress,
            )
        from reelflow.notify.sinks.amqp import AmqpSink

        return AmqpSink(
            target.url,
            queue=target.queue,
            exchange=target.exchange,
            routing_key=target.routing_key,
            timeout=target.timeout,
            egress=self._egress,
        )

    def close(self) -> None:
        self._http.close()
