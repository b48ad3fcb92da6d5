"""Fixtures for notifications over real sinks: the harness (fake planner and runner, no
FFmpeg) with the production sink registry, real Redis and RabbitMQ connections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.db.session import session_factory
from reelflow.net.egress import EgressPolicy
from reelflow.notify.queues import MessageQueues
from reelflow.notify.sinks.registry import DefaultSinks
from tests.integration.notify.services import AMQP_URL, REDIS_URL, require_service
from tests.integration.server.process import Servers
from tests.unit.notify.harness import Harness, make_harness


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Receivers, Redis and RabbitMQ listen on 127.0.0.1: the egress policy is opened for
    # that address only (test_egress.py checks what stays refused).
    return Settings(data_dir=tmp_path, max_attempts=2, egress_allow=("127.0.0.1/32",))


@pytest.fixture
def queues(db: DbEngine) -> MessageQueues:
    return MessageQueues(session_factory(db))


@pytest.fixture
def sinks(queues: MessageQueues, settings: Settings) -> Iterator[DefaultSinks]:
    registry = DefaultSinks(queues, egress=EgressPolicy.from_settings(settings))
    yield registry
    registry.close()


@pytest.fixture
def harness(db: DbEngine, sinks: DefaultSinks, settings: Settings) -> Iterator[Harness]:
    """Real clock, real sinks, a fast backoff (50 ms doubling to 500 ms, 60 s bound); the
    dispatcher thread is started and stopped around the test."""
    built = make_harness(db, sinks, settings=settings)
    built.dispatcher.start()
    yield built
    built.dispatcher.stop()


@pytest.fixture
def redis_client() -> Iterator[Any]:
    import redis

    def connect() -> redis.Redis:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        return client

    client = require_service("Redis", connect)
    yield client
    client.close()


@pytest.fixture
def amqp_channel() -> Iterator[Any]:
    import pika

    def connect() -> Any:
        params = pika.URLParameters(AMQP_URL)
        params.socket_timeout = 2
        params.connection_attempts = 1
        return pika.BlockingConnection(params)

    connection = require_service("RabbitMQ", connect)
    yield connection.channel()
    connection.close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Real ``reelflow serve`` processes (``servers.start(data_dir, **settings)``), all
    stopped after the test."""
    started = Servers()
    try:
        yield started
    finally:
        started.close()
