"""The embedded message queue: named queues of an account, stored in the database.

Semantics are those of a cloud message queue (SQS, CMQ): ``receive`` hides up to
``max_messages`` visible messages for ``visibility_timeout`` seconds and hands each a new
``receipt``; ``ack`` with that receipt deletes the message; a message not acknowledged in
time becomes visible again (its ``receive_count`` tells how often it was handed out).
Messages survive restarts: they are rows. ``put`` skips an event already waiting in the
queue, so a delivery retried after a lost answer does not queue a twin.

Several servers may share the database: on PostgreSQL candidate rows are locked
``FOR UPDATE SKIP LOCKED``, so two receivers never get the same message; on SQLite the
receive is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.notify import QueueMessage
from reelflow.db.session import transaction
from reelflow.errors import MessageNotFound
from reelflow.notify.doorbell import Doorbell

MAX_MESSAGES = 10
MAX_VISIBILITY = 43_200  # 12 hours, as SQS
DEFAULT_VISIBILITY = 30


@dataclass(frozen=True)
class ReceivedMessage:
    receipt: str
    event_id: str
    body: dict[str, Any]
    receive_count: int
    sent_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MessageQueues:
    """``MessageQueues(sessions)``; ``doorbell`` is rung with ``(account_id, queue)``
    whenever a message is put."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.doorbell = Doorbell()

    def put(self, account_id: int | None, queue: str, event_id: str, body: dict[str, Any]) -> bool:
        """Queue ``body``; False if the event is already waiting in this queue."""
        with transaction(self._sessions, write=True) as session:
            added = self.add(session, account_id, queue, event_id, body)
        self.ring(account_id, queue)
        return added

    def add(
        self,
        session: Session,
        account_id: int | None,
        queue: str,
        event_id: str,
        body: dict[str, Any],
    ) -> bool:
        """``put`` inside the caller's transaction; call ``ring`` after it commits."""
        waiting = session.scalar(
            select(QueueMessage.id)
            .where(_queue(account_id, queue), QueueMessage.event_id == event_id)
            .limit(1)
        )
        if waiting is not None:
            return False
        now = self._clock()
        session.add(
            QueueMessage(
                account_id=account_id,
                queue=queue,
                event_id=event_id,
                body=body,
                created_at=now,
                visible_at=now,
                receive_count=0,
                receipt=None,
            )
        )
        return True

    def ring(self, account_id: int | None, queue: str) -> None:
        """Wake the long polls waiting on the queue (messages were committed)."""
        self.doorbell.ring((account_id, queue))

    def receive(
        self,
        account_id: int | None,
        queue: str,
        *,
        max_messages: int = 1,
        visibility_timeout: int = DEFAULT_VISIBILITY,
    ) -> list[ReceivedMessage]:
        """Up to ``max_messages`` visible messages, oldest first, hidden for
        ``visibility_timeout`` seconds. Returns at once (the API does the long poll)."""
        now = self._clock()
        visible = and_(_queue(account_id, queue), QueueMessage.visible_at <= now)
        with transaction(self._sessions, write=False) as session:
            if session.scalar(select(QueueMessage.id).where(visible).limit(1)) is None:
                return []  # idle polls never take the write lock
        query = (
            select(QueueMessage)
            .where(visible)
            .order_by(QueueMessage.visible_at, QueueMessage.id)
            .limit(max(1, min(max_messages, MAX_MESSAGES)))
            .with_for_update(skip_locked=True)
        )
        received: list[ReceivedMessage] = []
        with transaction(self._sessions, write=True) as session:
            hidden_until = now + timedelta(seconds=visibility_timeout)
            for row in session.scalars(query):
                row.receipt = f"rc-{secrets.token_urlsafe(24)}"
                row.visible_at = hidden_until
                row.receive_count += 1
                received.append(
                    ReceivedMessage(
                        receipt=row.receipt,
                        event_id=row.event_id,
                        body=row.body,
                        receive_count=row.receive_count,
                        sent_at=row.created_at,
                    )
                )
        return received

    def ack(self, account_id: int | None, queue: str, receipt: str) -> None:
        """Delete the message ``receipt`` was handed out with; ``MessageNotFound`` if there
        is none (acknowledged already, or received again since with a newer receipt)."""
        with transaction(self._sessions, write=True) as session:
            result = session.execute(
                delete(QueueMessage).where(
                    _queue(account_id, queue), QueueMessage.receipt == receipt
                )
            )
            if not getattr(result, "rowcount", 0):
                raise MessageNotFound(
                    f"no message in queue {queue!r} has the receipt {receipt!r}: it was "
                    "acknowledged already, or its visibility timeout ended and it was "
                    "received again with a new receipt"
                )

    def depth(self, account_id: int | None, queue: str) -> int:
        """How many messages the queue holds, visible or not."""
        with transaction(self._sessions, write=False) as session:
            count = session.scalar(
                select(func.count()).select_from(QueueMessage).where(_queue(account_id, queue))
            )
            return int(count or 0)


def _queue(account_id: int | None, queue: str) -> ColumnElement[bool]:
    owner = (
        QueueMessage.account_id.is_(None)
        if account_id is None
        else QueueMessage.account_id == account_id
    )
    return and_(owner, QueueMessage.queue == queue)
