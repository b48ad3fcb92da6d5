"""The real services of the cluster tests: PostgreSQL, Redis, RabbitMQ.

Each test gets its own PostgreSQL schema in the database ``test`` (dropped afterwards) and
its own broker queue, so tests never see each other's rows or messages. A service that
cannot be reached fails the test under ``CI=true`` and skips it otherwise (see
``tests.integration.notify.services.require_service``). Addresses can be overridden with
``REELFLOW_TEST_POSTGRES_URL``, ``REELFLOW_TEST_CELERY_REDIS_URL`` and
``REELFLOW_TEST_AMQP_URL``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.integration.notify.services import AMQP_URL, require_service
from tests.servers import free_port

POSTGRES_URL = os.environ.get(
    "REELFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Database 13: the notification tests use 15; Celery's keys stay apart from theirs.
REDIS_URL = os.environ.get("REELFLOW_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/13")
BROKERS = {"redis": REDIS_URL, "amqp": AMQP_URL}


def schema_url(schema: str) -> str:
    """The test database's URL with ``schema`` first on the search path of every session."""
    joiner = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{schema}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new, empty schema in the test database; yields the URL that uses it."""
    admin = create_engine(POSTGRES_URL, pool_size=1)

    def connect() -> None:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        require_service("PostgreSQL", connect)
        schema = f"rf_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(schema)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def require_broker(url: str) -> None:
    """Fail (CI) or skip unless the broker at ``url`` answers."""
    from kombu import Connection

    def connect() -> None:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)

    require_service(f"the broker at {url}", connect)


def delete_queue(url: str, queue: str) -> None:
    """Remove a test's queue and its messages from the broker."""
    from kombu import Connection

    with Connection(url, connect_timeout=3) as connection:
        if url.startswith("redis"):
            client = connection.default_channel.client
            for key in client.scan_iter(match=f"*{queue}*"):
                client.delete(key)
            # A message a SIGKILLed worker never acknowledged waits in kombu's "unacked" hash
            # (to be restored after the visibility timeout): drop this queue's.
            for tag, entry in client.hscan_iter("unacked"):
                if queue.encode() in entry:
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)
        else:
            connection.default_channel.queue_delete(queue)


class PrivateRedis:
    """A ``redis-server`` of the test's own (no persistence), to stop and start at will.

    Started and stopped by its pid only; nothing else is touched."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            reason = "redis-server is not installed (apt-get install redis-server)"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        import redis

        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
