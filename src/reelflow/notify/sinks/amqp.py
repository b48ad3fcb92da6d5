"""RabbitMQ (AMQP 0-9-1): publish to a queue (through the default exchange) or to an
exchange with a routing key; persistent messages, publisher confirms, ``mandatory`` so an
unroutable message is an error rather than silently dropped.

Why pika (``pip install reelflow[amqp]``): the delivery loop is thread-based and owns retries,
so it needs a plain synchronous publish that tells it, per message, whether the broker
took it. pika's ``BlockingConnection`` gives exactly that: after ``confirm_delivery()``
``basic_publish`` returns once the broker confirmed, and raises ``NackError`` or
``UnroutableError`` otherwise. kombu wraps confirms in a transport option and adds its own
connection-retry layer (retries inside retries); aio-pika needs an asyncio loop. pika is a
small pure-Python package with no other dependency.

A ``BlockingConnection`` is not thread-safe: one lock per sink serializes its publishes
(confirms from a local broker take well under a millisecond). A queue named by the target
is declared durable if it does not exist yet, so events are kept until a consumer comes.

Each connection goes through the egress policy: the host is resolved once, every address
checked (``UrlNotAllowed`` before any connection if one is refused), and pika is handed the
checked address (TLS still verifies the name: it stays the ``server_hostname``).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from typing import Any

from reelflow.errors import ConfigError
from reelflow.net.egress import EgressPolicy
from reelflow.notify.sinks.base import DeliveryOutcome, OutgoingEvent, Sink

try:
    import pika
    import pika.exceptions
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigError(
        "an 'amqp' notification target needs pika: pip install 'reelflow[amqp]'"
    ) from exc

_NOT_FOUND = 404


class AmqpSink(Sink):
    def __init__(
        self,
        url: str,
        *,
        queue: str,
        exchange: str,
        routing_key: str,
        timeout: float,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._egress = egress or EgressPolicy()
        self._params = pika.URLParameters(url)
        self._host = self._params.host
        self._params.socket_timeout = timeout
        self._params.stack_timeout = timeout
        self._params.blocked_connection_timeout = timeout
        self._params.connection_attempts = 1
        self._queue = queue
        self._exchange = exchange
        self._routing_key = queue or routing_key
        self._lock = threading.Lock()
        self._connection: Any = None
        self._channel: Any = None

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=event.event_id,
            timestamp=event.sent_at,
            type=event.type.value,
            headers={"task_id": event.task_id, "seq": event.seq},
        )
        with self._lock:
            # One reconnect: a broker may have dropped a connection that sat idle.
            for retry in (False, True):
                try:
                    channel = self._open_channel()
                    channel.basic_publish(
                        self._exchange,
                        self._routing_key,
                        event.body,
                        properties=properties,
                        mandatory=True,
                    )
                    return DeliveryOutcome.delivered()
                except pika.exceptions.UnroutableError:
                    return DeliveryOutcome.failed(
                        f"amqp: unroutable: no queue is bound to exchange {self._exchange!r} "
                        f"with routing key {self._routing_key!r}"
                    )
                except pika.exceptions.NackError:
                    return DeliveryOutcome.failed("amqp: the broker refused (nack) the message")
                except (pika.exceptions.AMQPError, OSError) as exc:
                    self._reset()
                    if retry or not _is_connection_loss(exc):
                        return DeliveryOutcome.failed(f"amqp: {type(exc).__name__}: {exc}")
        return DeliveryOutcome.failed("amqp: unreachable")  # pragma: no cover

    def _open_channel(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            # Serve heartbeats and notice a dead connection before publishing.
            self._connection.process_data_events(time_limit=0)
            return self._channel
        self._reset()
        self._connection = pika.BlockingConnection(self._checked_parameters())
        channel = self._connection.channel()
        if self._queue:
            try:
                channel.queue_declare(self._queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != _NOT_FOUND:
                    raise
                channel = self._connection.channel()
                channel.queue_declare(self._queue, durable=True)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def _checked_parameters(self) -> Any:
        """The parameters with ``host`` replaced by an address the policy allows."""
        addresses = self._egress.resolve(self._host, self._params.port)
        params = copy.copy(self._params)
        params.host = str(addresses[0])
        ssl_options = self._params.ssl_options
        if ssl_options is not None:
            params.ssl_options = pika.SSLOptions(
                ssl_options.context, server_hostname=ssl_options.server_hostname or self._host
            )
        return params

    def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            # It is being thrown away; the next send opens a new one.
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()

    def close(self) -> None:
        with self._lock:
            self._reset()


def _is_connection_loss(exc: BaseException) -> bool:
    return isinstance(
        exc,
        pika.exceptions.StreamLostError
        | pika.exceptions.ConnectionClosed
        | pika.exceptions.ConnectionWrongStateError
        | pika.exceptions.ChannelWrongStateError,
    )
