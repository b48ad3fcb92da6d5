"""The dispatcher over the in-memory sink: delivery, retries with backoff, the bound, dead
deliveries and their replay, leases between dispatchers, and isolation of targets."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from reelflow.db.notify import NotifyDelivery
from reelflow.errors import ConfigError, DeliveryNotFound, StateError
from reelflow.notify.deliveries import Claim
from reelflow.notify.queues import MessageQueues
from reelflow.notify.records import OutboxRecords
from reelflow.notify.sinks.base import DeliveryOutcome, OutgoingEvent, Sink
from reelflow.notify.sinks.memory import MemorySink, MemorySinks
from reelflow.notify.sinks.queue import QueueSink
from reelflow.specs.events import AttemptOutcome, DeliveryState
from reelflow.specs.notify import NotifyTarget
from tests.unit.engine.fakes import FakeClock
from tests.unit.notify.harness import Harness

QUEUE = NotifyTarget(name="events")
HOOK = NotifyTarget(type="url", url="http://hooks.example/a", notify_key="mps-key")


def test_a_due_event_is_sent_once_and_marked_delivered(
    harness: Harness, memory_sinks: MemorySinks, clock: FakeClock
) -> None:
    task_id = harness.finish(QUEUE)
    assert harness.dispatcher.run_pending() == 1
    sink = memory_sinks.sink_for(QUEUE)
    [sent] = sink.sent
    [event] = harness.events(task_id)
    assert (sent.event_id, sent.task_id, sent.seq) == (event.id, task_id, 1)
    assert sent.document == event.body  # no NotifyKey: no Timestamp/Sign
    assert sent.body.startswith(b'{"EventType":"WorkflowTask"')
    [delivery] = harness.deliveries()
    assert (delivery.state, delivery.attempts, delivery.delivered_at) == (
        DeliveryState.DELIVERED,
        1,
        clock.now,
    )
    assert harness.dispatcher.run_pending() == 0  # nothing more to do


def test_the_mps_sign_is_computed_when_sent(harness: Harness, memory_sinks: MemorySinks) -> None:
    harness.finish(HOOK)
    harness.dispatcher.run_pending()
    [sent] = memory_sinks.sink_for(HOOK).sent
    assert sent.document["Timestamp"] == sent.sent_at + 600
    assert len(sent.document["Sign"]) == 32


def test_failures_are_retried_with_backoff_and_every_attempt_is_recorded(
    harness: Harness, memory_sinks: MemorySinks, clock: FakeClock
) -> None:
    sink = memory_sinks.sink_for(QUEUE)
    sink.script.extend(
        [DeliveryOutcome.failed("HTTP 500", status_code=500), DeliveryOutcome.failed("refused")]
    )
    task_id = harness.finish(QUEUE)
    assert harness.dispatcher.run_pending() == 1
    [delivery] = harness.deliveries()
    assert delivery.state is DeliveryState.PENDING
    assert (delivery.last_error, delivery.last_status) == ("HTTP 500", 500)
    # First retry after base * 2**0 = 1 s (jitter factor fixed at 1 in these tests).
    assert delivery.next_attempt_at == clock.now + _seconds(1)
    assert harness.dispatcher.run_pending() == 0  # not due yet
    clock.advance(1)
    assert harness.dispatcher.run_pending() == 1
    [delivery] = harness.deliveries()
    assert delivery.next_attempt_at == clock.now + _seconds(2)
    clock.advance(2)
    assert harness.dispatcher.run_pending() == 1
    [delivery] = harness.deliveries()
    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 3

    assert harness.engine.task_view(task_id).state.is_terminal
    ids = {e.event_id for e in sink.sent}
    assert len(sink.sent) == 3 and len(ids) == 1  # every copy carries the same event id


def test_a_delivery_is_dead_after_the_bound_and_a_replay_sends_it_again(
    harness: Harness, memory_sinks: MemorySinks, clock: FakeClock
) -> None:
    sink = memory_sinks.sink_for(QUEUE)
    sink.script.extend([DeliveryOutcome.failed("down")] * 100)
    harness.finish(QUEUE)
    attempts = 0
    for _ in range(100):
        attempts += harness.dispatcher.run_pending()
        [delivery] = harness.deliveries()
        if delivery.state is DeliveryState.DEAD:
            break
        clock.advance(8)  # the cap
    assert delivery.state is DeliveryState.DEAD
    # Tried every 8 s (never sooner than the backoff allows) from 0 to 56 s; the try
    # after that, past the 60 s bound, is the last.
    assert attempts == delivery.attempts == 9
    assert delivery.give_up_at == delivery.created_at + _seconds(60)
    assert delivery.updated_at == clock.now > delivery.give_up_at
    assert harness.dispatcher.run_pending() == 0

    sink.script.clear()
    with pytest.raises(DeliveryNotFound):
        harness.store.replay(delivery.id, account_id=12345)  # another account's
    harness.store.replay(delivery.id)
    [replayed] = harness.deliveries()
    assert replayed.state is DeliveryState.PENDING
    assert replayed.give_up_at == clock.now + _seconds(60)
    assert harness.dispatcher.run_pending() == 1
    [delivered] = harness.deliveries()
    assert delivered.state is DeliveryState.DELIVERED
    with pytest.raises(StateError, match="only a dead delivery"):
        harness.store.replay(delivery.id)
    with pytest.raises(DeliveryNotFound):
        harness.store.replay(999)


def test_a_sink_that_raises_fails_only_that_attempt(
    harness: Harness, memory_sinks: MemorySinks
) -> None:
    sink = memory_sinks.sink_for(QUEUE)
    sink.script.extend([ZeroDivisionError("bug in a sink"), ConfigError("pip install x")])
    harness.finish(QUEUE)
    harness.dispatcher.run_pending()
    [delivery] = harness.deliveries()
    assert "internal error in the sink: ZeroDivisionError" in delivery.last_error
    assert delivery.state is DeliveryState.PENDING


class _Broken:
    """A sink factory that cannot build one kind of target."""

    def __init__(self) -> None:
        self.memory = MemorySinks()

    def __call__(self, target: NotifyTarget) -> Sink:
        if target.type == "redis":
            raise ConfigError("a 'redis' notification target needs redis-py")
        return self.memory(target)


def test_a_target_that_cannot_be_built_fails_only_its_own_deliveries(
    harness: Harness,
) -> None:
    factory = _Broken()
    harness.dispatcher._sink_factory = factory
    harness.finish(NotifyTarget(type="redis", url="redis://nowhere.invalid", stream="s"))
    harness.finish(QUEUE)
    harness.dispatcher.run_pending()
    states = sorted((d.state.value, d.last_error) for d in harness.deliveries())
    assert states == [
        ("delivered", ""),
        ("pending", "ConfigError: a 'redis' notification target needs redis-py"),
    ]


def test_a_claim_is_a_lease_other_dispatchers_respect(harness: Harness, clock: FakeClock) -> None:
    harness.finish(QUEUE)
    [claim] = harness.store.claim("server-a", 5)
    assert claim.number == 1
    assert harness.store.claim("server-b", 5) == []  # leased to server-a
    clock.advance(QUEUE.timeout * 2 + 10)  # server-a died mid-send: the lease ends
    [again] = harness.store.claim("server-b", 5)
    assert again.number == 2
    # server-a's late failure changes nothing: the delivery is server-b's now.
    state = harness.store.record(
        claim, "server-a", DeliveryOutcome.failed("late"), started_at=clock.now, duration_ms=1
    )
    assert state is DeliveryState.PENDING
    assert harness.deliveries()[0].last_error == ""
    harness.store.record(
        again, "server-b", DeliveryOutcome.delivered(), started_at=clock.now, duration_ms=1
    )
    [delivery] = harness.deliveries()
    assert delivery.state is DeliveryState.DELIVERED
    [event] = OutboxRecords(harness.sessions).task_events(harness.events()[0].task_id)
    log = event.deliveries[0].attempt_log
    assert [(a.number, a.outcome, a.worker) for a in log] == [
        (1, AttemptOutcome.FAILED, "server-a"),
        (2, AttemptOutcome.DELIVERED, "server-b"),
    ]


def test_released_claims_are_due_again_without_using_an_attempt(harness: Harness) -> None:
    harness.finish(QUEUE)
    claims = harness.store.claim("a", 5)
    assert harness.store.release(claims, "a") == 1
    [delivery] = harness.deliveries()
    assert (delivery.attempts, delivery.claimed_by) == (0, None)
    assert harness.store.claim("b", 5)[0].number == 1


class _Gate(Sink):
    """Blocks every send until opened."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Semaphore(0)
        self._lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.entered.release()
        self.opened.wait(10)
        with self._lock:
            self.inside -= 1
        return DeliveryOutcome.delivered()


class _Split:
    def __init__(self) -> None:
        self.gate = _Gate()
        self.fast = MemorySink()

    def __call__(self, target: NotifyTarget) -> Sink:
        return self.gate if target.url.endswith("/slow") else self.fast


def test_a_hanging_target_holds_a_few_slots_and_never_blocks_the_others(
    harness: Harness,
) -> None:
    sinks = _Split()
    dispatcher = harness.dispatcher
    dispatcher._sink_factory = sinks
    slow = NotifyTarget(type="url", url="http://hooks.example/slow")
    for _ in range(6):
        harness.finish(slow)
    for _ in range(5):
        harness.finish(HOOK)
    dispatcher.start()
    try:
        assert sinks.fast.wait_for(5, timeout=10)
        assert sinks.gate.entered.acquire(timeout=5)
        # per_target=2 of workers=4: at most two sends to the slow target at once.
        time.sleep(0.2)
        assert len(harness.deliveries(DeliveryState.DELIVERED)) == 5
        assert sinks.gate.most_inside == 2
    finally:
        sinks.gate.opened.set()
        deadline = time.monotonic() + 10
        while len(harness.deliveries(DeliveryState.DELIVERED)) < 11:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        dispatcher.stop()
    assert sinks.gate.most_inside == 2


def test_the_dispatcher_thread_wakes_when_an_event_commits(
    harness: Harness, memory_sinks: MemorySinks
) -> None:
    harness.dispatcher._poll = 30.0  # only a wake can make it look in time
    harness.dispatcher.start()
    try:
        time.sleep(0.1)  # let it go to sleep
        harness.finish(QUEUE)
        assert memory_sinks.sink_for(QUEUE).wait_for(1, timeout=5)
    finally:
        harness.dispatcher.stop()


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


class _Queues:
    """Real embedded queues over the harness's database, as the server builds them."""

    def __init__(self, harness: Harness) -> None:
        self.queues = MessageQueues(harness.sessions)

    def __call__(self, target: NotifyTarget) -> Sink:
        return QueueSink(self.queues, target.name)


def test_queue_deliveries_are_written_with_their_records_in_one_transaction(
    harness: Harness, clock: FakeClock
) -> None:
    factory = _Queues(harness)
    harness.dispatcher._sink_factory = factory
    for _ in range(5):
        harness.finish(QUEUE)
    claims = harness.store.claim(harness.dispatcher.owner, 10)
    # One of them was taken over by another dispatcher after our lease ran out.
    with harness.sessions.begin() as session:
        row = session.get(NotifyDelivery, claims[0].delivery_id)
        assert row is not None
        row.claimed_by, row.attempts = "other", row.attempts + 1
    harness.dispatcher._deliver_batch(claims)
    states = [d.state for d in harness.deliveries()]
    assert states == [DeliveryState.PENDING] + [DeliveryState.DELIVERED] * 4
    assert factory.queues.depth(None, "events") == 4  # the taken-over one was not written
    [event] = OutboxRecords(harness.sessions).task_events(harness.events()[1].task_id)
    [attempt] = event.deliveries[0].attempt_log
    assert attempt.outcome is AttemptOutcome.DELIVERED


def _room(busy: dict[str, int], per_target: int = 2) -> Callable[[str, NotifyTarget], int]:
    def room(key: str, target: NotifyTarget) -> int:
        limit = 100 if target.type == "queue" else per_target
        return limit - busy.get(key, 0)

    return room


def test_a_claim_takes_no_more_than_each_target_has_room_for(
    harness: Harness, clock: FakeClock
) -> None:
    slow = NotifyTarget(type="url", url="http://hooks.example/slow")
    for _ in range(5):
        harness.finish(slow)
    for _ in range(2):
        harness.finish(HOOK)
    harness.finish(QUEUE)
    before = {d.id: d.next_attempt_at for d in harness.deliveries()}

    claims = harness.store.claim("a", 8, room=_room({}))
    # The slow target's three oldest-but-over-its-room deliveries do not crowd out the
    # others: two of it, both of HOOK and the queue's one.
    assert Counter(c.target_key for c in claims) == {slow.key(): 2, HOOK.key(): 2, QUEUE.key(): 1}
    claimed = {c.delivery_id for c in claims}
    untouched = [d for d in harness.deliveries() if d.id not in claimed]
    assert len(untouched) == 3 and {d.target_key for d in untouched} == {slow.key()}
    for d in untouched:  # never locked, loaded nor counted: pending and due as before
        assert (d.state, d.attempts, d.claimed_by) == (DeliveryState.PENDING, 0, None)
        assert d.next_attempt_at == before[d.id]


def test_a_claim_counts_the_sends_in_flight_against_a_targets_room(harness: Harness) -> None:
    slow = NotifyTarget(type="url", url="http://hooks.example/slow")
    for _ in range(3):
        harness.finish(slow)
    harness.finish(HOOK)
    [claim] = harness.store.claim("a", 8, room=_room({slow.key(): 2}))
    assert claim.target_key == HOOK.key()
    [claim] = harness.store.claim("a", 8, room=_room({slow.key(): 1}))
    assert claim.target_key == slow.key() and claim.number == 1
    assert harness.store.claim("a", 8, room=_room({slow.key(): 2})) == []
    # Without a room every due delivery may be claimed (run_pending, tools).
    assert len(harness.store.claim("a", 8)) == 2


def test_releasing_claims_reads_them_in_one_query(harness: Harness) -> None:
    for _ in range(4):
        harness.finish(QUEUE)
    claims = harness.store.claim("a", 10)
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(harness.db, "before_cursor_execute", record)
    try:
        # The last one was taken over meanwhile: it is not handed back.
        taken = claims[-1]
        with harness.sessions.begin() as session:
            row = session.get(NotifyDelivery, taken.delivery_id)
            assert row is not None
            row.claimed_by, row.attempts = "other", row.attempts + 1
        statements.clear()
        assert harness.store.release(claims, "a") == 3
    finally:
        event.remove(harness.db, "before_cursor_execute", record)
    assert sum(s.lstrip().startswith("SELECT") for s in statements) == 1
    assert harness.store.release([], "a") == 0
    states = [(d.attempts, d.claimed_by) for d in harness.deliveries()]
    assert states == [(0, None)] * 3 + [(2, "other")]


def test_the_dispatcher_claims_only_what_it_can_send_and_releases_nothing(
    harness: Harness,
) -> None:
    sinks = _Split()
    dispatcher = harness.dispatcher
    dispatcher._sink_factory = sinks
    slow = NotifyTarget(type="url", url="http://hooks.example/slow")
    for _ in range(8):
        harness.finish(slow)
    for _ in range(3):
        harness.finish(HOOK)
    store = harness.store
    claimed: list[int] = []
    released: list[int] = []
    claim, release = store.claim, store.release

    def counting_claim(*args: Any, **kwargs: Any) -> list[Claim]:
        claims = claim(*args, **kwargs)
        claimed.extend(c.delivery_id for c in claims)
        return claims

    def counting_release(claims: Iterable[Claim], owner: str) -> int:
        claims = list(claims)
        released.extend(c.delivery_id for c in claims)
        return release(claims, owner)

    store.claim = counting_claim  # type: ignore[method-assign]
    store.release = counting_release  # type: ignore[method-assign]
    dispatcher.start()
    try:
        assert sinks.fast.wait_for(3, timeout=10)
        assert sinks.gate.entered.acquire(timeout=5)
        time.sleep(0.3)  # rounds go by while the slow target holds its two slots
        # Only the two sends in flight to the slow target were claimed of its eight.
        slow_ids = {d.id for d in harness.deliveries() if d.target_key == slow.key()}
        assert len([i for i in claimed if i in slow_ids]) == 2
        assert released == []
        waiting = [d for d in harness.deliveries() if d.id in slow_ids and d.id not in claimed]
        assert len(waiting) == 6 and all(d.attempts == 0 for d in waiting)
    finally:
        sinks.gate.opened.set()
        deadline = time.monotonic() + 10
        while len(harness.deliveries(DeliveryState.DELIVERED)) < 11:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        dispatcher.stop()
    assert sorted(claimed) == sorted(d.id for d in harness.deliveries())  # each once
    assert released == [] and sinks.gate.most_inside == 2
