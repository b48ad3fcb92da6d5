"""Notification targets under the egress policy: a webhook, Redis or AMQP target on a
refused address is never connected to (the listener accepts zero connections), and its
delivery is dead after one attempt with the policy's reason, no connection detail.

The engine here accepts 127.0.0.1 at submission (the conftest's settings); the sinks run
the default policy, as a server would for a name that resolves to loopback, or after the
operator closed the range."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.net.egress import EgressPolicy
from reelflow.notify.queues import MessageQueues
from reelflow.notify.sinks.registry import DefaultSinks
from reelflow.specs.events import DeliveryState
from reelflow.specs.notify import NotifyTarget
from tests.egress import CountingListener
from tests.unit.notify.harness import Harness, make_harness

pytestmark = pytest.mark.integration

WAIT = 15.0


@pytest.fixture
def guarded(db: DbEngine, queues: MessageQueues, settings: Settings) -> Iterator[Harness]:
    sinks = DefaultSinks(queues, egress=EgressPolicy())
    built = make_harness(db, sinks, settings=settings)
    built.dispatcher.start()
    yield built
    built.dispatcher.stop()
    sinks.close()


@pytest.mark.parametrize(
    "make_target",
    [
        lambda port: NotifyTarget(type="url", url=f"http://127.0.0.1:{port}/hook", timeout=2),
        lambda port: NotifyTarget(
            type="redis", url=f"redis://127.0.0.1:{port}/0", stream="s", timeout=2
        ),
        lambda port: NotifyTarget(
            type="amqp", url=f"amqp://guest:guest@127.0.0.1:{port}/", queue="q", timeout=2
        ),
    ],
    ids=["webhook", "redis", "amqp"],
)
def test_a_refused_target_is_dead_at_once_and_never_connected(
    guarded: Harness, make_target: object
) -> None:
    with CountingListener("127.0.0.1") as refused:
        target = make_target(refused.port)  # type: ignore[operator]
        guarded.finish(target)
        deadline = time.monotonic() + WAIT
        while not guarded.deliveries(DeliveryState.DEAD):
            assert time.monotonic() < deadline, [
                (d.state, d.last_error) for d in guarded.deliveries()
            ]
            time.sleep(0.02)
        assert refused.accepted == 0
    [dead] = guarded.deliveries()
    assert dead.attempts == 1  # dead at the first refusal, never retried
    assert dead.last_error == (
        "InvalidInput.UrlNotAllowed: 127.0.0.1 is a loopback address; the egress policy "
        "refuses it (REELFLOW_EGRESS_ALLOW)"
    )
    assert str(refused.port) not in dead.last_error
