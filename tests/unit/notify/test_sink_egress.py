"""Redis and AMQP sinks under the egress policy, without a broker: what they would connect
to (the checked address, the name kept for TLS) and what they refuse."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from reelflow.errors import UrlNotAllowed
from reelflow.notify.sinks.amqp import AmqpSink
from reelflow.notify.sinks.redis import RedisStreamSink

PUBLIC = "93.184.215.14"


@pytest.fixture
def broker_name(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``broker.example`` resolves to a public address; the lookups are recorded."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "broker.example":
            lookups.append(host)
            return real(PUBLIC, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return lookups


def test_amqp_connects_to_the_checked_address_and_keeps_the_name_for_tls(
    broker_name: list[str],
) -> None:
    sink = AmqpSink(
        "amqps://u:p@broker.example:5671/vh", queue="q", exchange="", routing_key="", timeout=1
    )
    params = sink._checked_parameters()
    assert (params.host, params.port, params.virtual_host) == (PUBLIC, 5671, "vh")
    assert params.ssl_options.server_hostname == "broker.example"
    assert broker_name == ["broker.example"]


def test_amqp_refuses_an_internal_broker_before_connecting() -> None:
    sink = AmqpSink("amqp://u:p@10.1.2.3:5672/", queue="q", exchange="", routing_key="", timeout=1)
    with pytest.raises(UrlNotAllowed, match=r"10\.1\.2\.3 is a private address"):
        sink._checked_parameters()


def test_a_redis_unix_socket_counts_as_loopback(tmp_path: Any) -> None:
    from reelflow.notify.sinks.base import OutgoingEvent
    from reelflow.specs.events import EventType

    event = OutgoingEvent("ev-1", "rf-1", None, 1, next(iter(EventType)), {}, b"{}", 0)
    sink = RedisStreamSink(f"unix://{tmp_path}/redis.sock", "s", max_len=None, timeout=1)
    with pytest.raises(UrlNotAllowed, match="loopback"):
        sink.send(event)
    sink.close()
