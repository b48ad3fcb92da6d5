"""The notification step: the outbox writes events in the engine's transactions; the
dispatcher (started by the server, not here) delivers them, woken by each commit that wrote
one."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from reelflow.config import Settings
from reelflow.engine.service import Engine
from reelflow.net.egress import EgressPolicy
from reelflow.notify.backoff import Backoff
from reelflow.notify.deliveries import DeliveryStore
from reelflow.notify.delivery_loop import DeliveryLoop
from reelflow.notify.outbox import OutboxWriter
from reelflow.notify.queues import MessageQueues
from reelflow.notify.records import OutboxRecords
from reelflow.notify.sinks.registry import DefaultSinks


@dataclass(frozen=True)
class Notifications:
    queues: MessageQueues
    outbox: OutboxWriter
    outbox_records: OutboxRecords
    deliveries: DeliveryStore
    sinks: DefaultSinks
    dispatcher: DeliveryLoop


def build_notifications(
    settings: Settings,
    sessions: sessionmaker[Session],
    engine: Engine,
    egress: EgressPolicy,
    stack: ExitStack,
) -> Notifications:
    """``stack`` closes the sinks, then stops the dispatcher (unsent claims go back; sends
    in progress may finish)."""
    queues = MessageQueues(sessions)
    outbox = OutboxWriter(sessions, settings.notify_max_retry_seconds)
    engine.observer = outbox
    backoff = Backoff(
        base=settings.notify_retry_base_seconds,
        cap=settings.notify_retry_cap_seconds,
        total=settings.notify_max_retry_seconds,
    )
    deliveries = DeliveryStore(sessions, backoff)
    sinks = DefaultSinks(queues, egress=egress)
    stack.callback(sinks.close)
    dispatcher = DeliveryLoop(
        deliveries,
        sinks,
        workers=settings.notify_workers,
        per_target=settings.notify_per_target,
        poll=settings.notify_poll_seconds,
    )
    stack.callback(dispatcher.stop)
    outbox.on_written = dispatcher.wake
    return Notifications(queues, outbox, OutboxRecords(sessions), deliveries, sinks, dispatcher)
