"""The consumer watchdog's view of the broker (``QueueDepth``), on Redis and RabbitMQ,
through the fault proxy: it counts waiting messages, fails during an outage, and counts
again after it over a new connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from reelflow.config import Settings
from reelflow.executors.celery.app import RUN_JOB, make_app
from reelflow.executors.celery.health import QueueDepth
from tests.faults import FaultProxy
from tests.integration.cluster.services import BROKERS, delete_queue, require_broker
from tests.integration.cluster.test_broker_outage import through

pytestmark = pytest.mark.integration


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    url = BROKERS[request.param]
    require_broker(url)
    yield url


def test_queue_depth_counts_fails_in_an_outage_and_recovers(
    broker_url: str, tmp_path: Path
) -> None:
    queue = f"rf-depth-{uuid.uuid4().hex[:10]}"
    parts = urlsplit(broker_url)
    with FaultProxy(parts.hostname or "127.0.0.1", parts.port or 0) as proxy:
        settings = Settings(
            data_dir=tmp_path, executor="celery", broker_url=through(proxy, broker_url),
            celery_queue=queue,
        )  # fmt: skip
        app = make_app(settings)
        depth = QueueDepth(app, [queue])
        try:
            assert depth() == 0  # not declared yet (RabbitMQ) or empty (Redis)
            for _ in range(3):
                app.send_task(RUN_JOB, args=[{}], queue=queue)
            assert depth() == 3
            with app.connection_for_read() as connection:
                connection_errors = connection.connection_errors
            with proxy.outage(), pytest.raises(connection_errors):
                depth()  # the watchdog reads this as "broker unreachable"
            assert depth() == 3  # a new connection after the outage
            assert proxy.aborted >= 1
        finally:
            depth.close()
            app.close()
            delete_queue(broker_url, queue)
