"""At least once, whatever happens: a receiver that fails for a while, a dispatcher that
stops (or dies mid-send) with events undelivered, and 200 tasks through two dispatchers
and a flaky receiver."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from reelflow.db.notify import NotifyDelivery
from reelflow.notify.backoff import Backoff
from reelflow.notify.deliveries import DeliveryStore
from reelflow.notify.dispatcher import Dispatcher
from reelflow.notify.records import OutboxRecords
from reelflow.notify.sinks.registry import DefaultSinks
from reelflow.specs.events import AttemptOutcome, DeliveryState
from reelflow.specs.notify import NotifyTarget
from tests.integration.notify.receiver import Receiver
from tests.unit.notify.harness import Harness

pytestmark = pytest.mark.integration

FAST = Backoff(base=0.05, cap=0.5, total=60.0)


def wait_all_delivered(harness: Harness, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(harness.deliveries(DeliveryState.DELIVERED)) < count:
        assert time.monotonic() < deadline, [
            (d.id, d.state, d.last_error) for d in harness.deliveries() if d.state != "delivered"
        ]
        time.sleep(0.05)


def test_a_receiver_answering_500_for_a_while_gets_the_event_after_recovery(
    harness: Harness,
) -> None:
    with Receiver(respond=lambda n: 500 if n < 3 else 200) as hook:
        task_id = harness.finish(NotifyTarget(type="url", url=hook.url, secret="s"))
        [accepted] = hook.wait_accepted(1, timeout=30)
        wait_all_delivered(harness, 1)
    assert accepted.document["WorkflowTaskEvent"]["TaskId"] == task_id
    assert [r.status for r in hook.received] == [500, 500, 500, 200]
    assert len({r.document["EventId"] for r in hook.received}) == 1
    [event] = OutboxRecords(harness.sessions).task_events(task_id)
    log = event.deliveries[0].attempt_log
    assert [(a.outcome, a.status_code) for a in log] == [
        (AttemptOutcome.FAILED, 500),
        (AttemptOutcome.FAILED, 500),
        (AttemptOutcome.FAILED, 500),
        (AttemptOutcome.DELIVERED, 200),
    ]
    assert log[0].error.startswith("HTTP 500")
    # Backoff between the failures: 50 ms, 100 ms, 200 ms nominal (at least half each).
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(log)]
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05 and gaps[2] >= 0.1


def test_events_left_by_a_stopped_or_crashed_dispatcher_are_delivered_after_a_restart(
    harness: Harness, sinks: DefaultSinks
) -> None:
    harness.dispatcher.stop()  # the "server" is down while tasks finish
    with Receiver() as hook:
        target = NotifyTarget(type="url", url=hook.url)
        task_ids = [harness.finish(target) for _ in range(5)]
        time.sleep(0.3)
        assert hook.received == []
        # A dispatcher that claimed one delivery and died mid-send; time passes and its
        # lease runs out.
        [orphan] = DeliveryStore(harness.sessions, FAST).claim("crashed-server", 1)
        with harness.sessions.begin() as session:
            row = session.get(NotifyDelivery, orphan.delivery_id)
            assert row is not None and row.claimed_by == "crashed-server"
            row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)

        restarted = Dispatcher(DeliveryStore(harness.sessions, FAST), sinks, poll=0.2)
        restarted.start()
        try:
            received = hook.wait_accepted(5, timeout=30)
        finally:
            restarted.stop()
    assert sorted(r.document["WorkflowTaskEvent"]["TaskId"] for r in received) == sorted(task_ids)
    rows = {d.id: d for d in harness.deliveries()}
    assert all(d.state is DeliveryState.DELIVERED for d in rows.values())
    assert rows[orphan.delivery_id].attempts == 2  # the crashed attempt counts


def test_two_hundred_tasks_every_finish_delivered_at_least_once_duplicates_share_the_id(
    harness: Harness, sinks: DefaultSinks
) -> None:
    # Every 7th request is recorded but answered 500: the sender cannot tell it arrived,
    # tries again, and the receiver sees a duplicate.
    with Receiver(respond=lambda n: 500 if n % 7 == 3 else 200) as hook:
        second = Dispatcher(
            DeliveryStore(harness.sessions, FAST), sinks, workers=4, per_target=2, poll=0.2
        )
        second.start()  # two "servers" share the outbox
        try:
            target = NotifyTarget(type="url", url=hook.url, notify_key="k")
            task_ids = {harness.finish(target) for _ in range(200)}
            wait_all_delivered(harness, 200, timeout=60)
        finally:
            second.stop()
        received = list(hook.received)
    copies: dict[str, list[dict[str, object]]] = defaultdict(list)
    for request in received:
        copies[request.document["EventId"]].append(request.document)
    assert len(copies) == 200  # one event per task...
    delivered_tasks = {
        r.document["WorkflowTaskEvent"]["TaskId"] for r in received if r.status == 200
    }
    assert delivered_tasks == task_ids  # ...each accepted at least once
    duplicates = {event_id: docs for event_id, docs in copies.items() if len(docs) > 1}
    assert duplicates, "the flaky receiver should have caused duplicates"
    for docs in copies.values():
        first = docs[0]
        for doc in docs[1:]:
            assert doc["EventId"] == first["EventId"]
            assert doc["WorkflowTaskEvent"] == first["WorkflowTaskEvent"]
            assert doc["Sequence"] == first["Sequence"]
    workers = {a.worker for e in OutboxRecords(harness.sessions).deliveries(limit=100)[0]
               for a in e.attempt_log}  # fmt: skip
    assert len(workers) == 2  # both dispatchers did part of the work
