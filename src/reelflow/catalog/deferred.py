"""Deferred triggers: workflow and schedule starts that admission refused.

An upload (or any noticed object) whose workflow would start a task while the account has
``max_queued_tasks`` unfinished tasks is not lost: the object is stored, and its
:class:`~reelflow.catalog.triggered.TriggerKey` is recorded here with the account. The
trigger loop (``reelflow.triggers.deferred``) starts the oldest ones, as many as the
account has room for, through the same ``Engine.submit(..., trigger_key=...)`` as a fresh
notice, then deletes the row. The ledger's unique key makes the start exactly-once even if
two servers resume the same row, or a server stops between the start and the deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.triggered import TriggerKey
from reelflow.db.session import transaction
from reelflow.db.triggers import DeferredTrigger


@dataclass(frozen=True)
class Deferred:
    """One deferred start: ``key`` for ``account_id``, recorded at ``created_at``."""

    id: int
    account_id: int
    key: TriggerKey
    created_at: datetime

    @classmethod
    def of(cls, row: DeferredTrigger) -> Deferred:
        key = TriggerKey(row.workflow_id, row.bucket, row.key, row.version, row.schedule)
        return cls(row.id, row.account_id, key, row.created_at)


class DeferredTriggers:
    """``DeferredTriggers(sessions)``: every method is one transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    def defer(self, account_id: int, key: TriggerKey) -> None:
        """Record ``key``; a key already deferred stays as it was (one row, its first time)."""
        try:
            with transaction(self._sessions, write=True) as session:
                if _find(session, key) is not None:
                    return
                session.add(
                    DeferredTrigger(
                        account_id=account_id,
                        workflow_id=key.workflow_id,
                        schedule=key.schedule,
                        bucket=key.bucket,
                        key=key.key,
                        version=key.version,
                        object_hash=key.object_hash,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError:
            return  # PostgreSQL: a concurrent notice of the same version deferred it first

    def accounts(self) -> list[int]:
        """The accounts with deferred starts."""
        query = select(DeferredTrigger.account_id).distinct().order_by(DeferredTrigger.account_id)
        with transaction(self._sessions, write=False) as session:
            return list(session.scalars(query))

    def page(self, account_id: int, limit: int, *, after: int = 0) -> list[Deferred]:
        """The account's deferred starts, oldest first, after the id ``after`` (keyset)."""
        query = (
            select(DeferredTrigger)
            .where(DeferredTrigger.account_id == account_id, DeferredTrigger.id > after)
            .order_by(DeferredTrigger.id)
            .limit(limit)
        )
        with transaction(self._sessions, write=False) as session:
            return [Deferred.of(row) for row in session.scalars(query)]

    def count(self, account_id: int) -> int:
        query = select(func.count()).where(DeferredTrigger.account_id == account_id)
        with transaction(self._sessions, write=False) as session:
            return session.scalar(query) or 0

    def done(self, deferred_id: int) -> None:
        """Forget a deferred start (it started its task, or its rule is gone)."""
        with transaction(self._sessions, write=True) as session:
            row = session.get(DeferredTrigger, deferred_id)
            if row is not None:
                session.delete(row)


def _find(session: Session, key: TriggerKey) -> int | None:
    query = select(DeferredTrigger.id).where(
        DeferredTrigger.workflow_id == key.workflow_id,
        DeferredTrigger.object_hash == key.object_hash,
    )
    return session.scalar(query)
