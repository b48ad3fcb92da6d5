"""The embedded queue: receive, visibility timeout, acknowledgement, ownership, the
doorbell of long polls; and the queue sink."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select

from reelflow.db.notify import QueueMessage
from reelflow.db.session import session_factory
from reelflow.errors import MessageNotFound
from reelflow.notify.doorbell import Doorbell
from reelflow.notify.queues import MessageQueues
from reelflow.notify.sinks.base import OutgoingEvent
from reelflow.notify.sinks.queue import QueueSink
from reelflow.specs.events import EventType
from tests.unit.engine.fakes import FakeClock


@pytest.fixture
def queues(db: DbEngine, clock: FakeClock) -> MessageQueues:
    return MessageQueues(session_factory(db), clock=clock)


def test_a_received_message_is_hidden_until_acknowledged_or_its_timeout_ends(
    queues: MessageQueues, clock: FakeClock
) -> None:
    assert queues.put(1, "events", "ev-1", {"EventId": "ev-1"})
    [first] = queues.receive(1, "events", visibility_timeout=30)
    assert (first.event_id, first.body, first.receive_count) == ("ev-1", {"EventId": "ev-1"}, 1)
    assert queues.receive(1, "events") == []  # hidden
    clock.advance(29)
    assert queues.receive(1, "events") == []
    clock.advance(1)  # not acknowledged in time: visible again, with a new receipt
    [second] = queues.receive(1, "events")
    assert (second.event_id, second.receive_count) == ("ev-1", 2)
    assert second.receipt != first.receipt
    with pytest.raises(MessageNotFound, match="received again"):
        queues.ack(1, "events", first.receipt)  # the old receipt is void
    queues.ack(1, "events", second.receipt)
    assert queues.depth(1, "events") == 0
    clock.advance(3600)
    assert queues.receive(1, "events") == []  # acknowledged for good
    with pytest.raises(MessageNotFound):
        queues.ack(1, "events", second.receipt)


def test_messages_come_oldest_first_up_to_max_messages(
    queues: MessageQueues, clock: FakeClock
) -> None:
    for n in range(12):
        queues.put(1, "q", f"ev-{n}", {"n": n})
        clock.advance(0.001)
    got = queues.receive(1, "q", max_messages=5)
    assert [m.body["n"] for m in got] == [0, 1, 2, 3, 4]
    rest = queues.receive(1, "q", max_messages=50)  # capped at 10
    assert [m.body["n"] for m in rest] == list(range(5, 12))[:10]


def test_queues_belong_to_an_account(queues: MessageQueues) -> None:
    queues.put(1, "events", "ev-1", {})
    assert queues.receive(2, "events") == []
    assert queues.receive(None, "events") == []
    with pytest.raises(MessageNotFound):
        queues.ack(2, "events", queues.receive(1, "events")[0].receipt)


def test_an_event_already_waiting_is_not_queued_twice(queues: MessageQueues) -> None:
    assert queues.put(1, "q", "ev-1", {})
    assert not queues.put(1, "q", "ev-1", {})
    assert queues.depth(1, "q") == 1


def test_the_queue_sink_puts_the_document_in_the_task_owners_queue(
    queues: MessageQueues,
) -> None:
    sink = QueueSink(queues, "events")
    event = OutgoingEvent(
        event_id="ev-9", task_id="rf-1", account_id=7, seq=1, type=EventType.TASK_FINISHED,
        document={"EventId": "ev-9"}, body=b"{}", sent_at=0,
    )  # fmt: skip
    assert sink.send(event).ok
    [message] = queues.receive(7, "events")
    assert message.body == {"EventId": "ev-9"}


def test_the_doorbell_wakes_a_waiter_from_another_thread() -> None:
    bell = Doorbell()

    async def scenario() -> tuple[bool, bool, bool]:
        seen = bell.version("k")
        threading.Timer(0.05, bell.ring, args=("k",)).start()
        rung = await bell.wait("k", seen, 5.0)
        quiet = await bell.wait("k", bell.version("k"), 0.05)
        already = await bell.wait("k", seen, 5.0)  # rung since `seen`: returns at once
        return rung, quiet, already

    assert asyncio.run(scenario()) == (True, False, True)


def test_the_lookup_of_a_waiting_event_uses_its_index(db: DbEngine) -> None:
    # put looks for the event among the queue's messages: an index, not a scan of the
    # queue (50,000 waiting messages made each put take tens of milliseconds).
    lookup = (
        select(QueueMessage.id)
        .where(
            QueueMessage.account_id == 1,
            QueueMessage.queue == "events",
            QueueMessage.event_id == "ev-1",
        )
        .limit(1)
    )
    with db.connect() as connection:
        sql = str(lookup.compile(db, compile_kwargs={"literal_binds": True}))
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
    assert "ix_queue_messages_account_id_queue_event_id" in " ".join(str(row) for row in plan)
