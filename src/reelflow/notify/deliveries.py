"""The dispatcher's side of the outbox: claim due deliveries, record each attempt, replay.

A claim is a lease written into the row: ``next_attempt_at`` moves to the end of the
lease, ``claimed_by`` names the dispatcher and ``attempts`` grows by one (the attempt's
number, which fences late results). If the dispatcher dies mid-send, the row simply falls
due again when the lease ends. On PostgreSQL the candidates are locked
``FOR UPDATE SKIP LOCKED``, so several servers never claim the same delivery; on SQLite
the claim is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from reelflow.db.notify import NotifyAttempt, NotifyDelivery, NotifyEvent
from reelflow.db.session import transaction
from reelflow.errors import DeliveryNotFound, StateError
from reelflow.notify.backoff import Backoff
from reelflow.notify.sinks.base import DeliveryOutcome
from reelflow.specs.events import AttemptOutcome, DeliveryState, EventType
from reelflow.specs.notify import NotifyTarget

Clock = Callable[[], datetime]
# (target key, target) -> how many more deliveries to it one claim may take
Room = Callable[[str, NotifyTarget], int]
MAX_ERROR = 2000  # characters of an error message kept on a record


def utcnow() -> datetime:
    return datetime.now(UTC)


def lease_for(target: NotifyTarget) -> timedelta:
    """How long a claim lasts: well past the send's own timeout."""
    return timedelta(seconds=target.timeout * 2 + 10)


@dataclass(frozen=True)
class Claim:
    """A claimed delivery with what sending it needs."""

    delivery_id: int
    number: int  # this attempt's number (1 = first)
    event_id: str
    task_id: str
    account_id: int | None
    seq: int
    type: EventType
    body: dict[str, Any]
    target: NotifyTarget
    target_key: str


class DeliveryStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        backoff: Backoff,
        *,
        clock: Clock = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._sessions = sessions
        self._backoff = backoff
        self._clock = clock
        self._rand = rand

    def claim(
        self,
        owner: str,
        limit: int,
        *,
        exclude_keys: Collection[str] = (),
        room: Room | None = None,
    ) -> list[Claim]:
        """Lease up to ``limit`` due deliveries to ``owner``, oldest due first, skipping
        the targets in ``exclude_keys`` (busy ones).

        ``room(target_key, target)``: how many deliveries to that target this claim may
        take (its limit minus the sends already in flight; ``None``: no per-target limit).
        Due deliveries over it are not touched: not locked, not loaded, no attempt used;
        they stay pending and due, and the claim takes other targets' instead."""
        if limit <= 0:
            return []

        def due(now: datetime) -> list[ColumnElement[bool]]:
            conditions = [
                NotifyDelivery.state == DeliveryState.PENDING,
                NotifyDelivery.next_attempt_at <= now,
            ]
            if exclude_keys:
                conditions.append(NotifyDelivery.target_key.not_in(list(exclude_keys)))
            return conditions

        with transaction(self._sessions, write=False) as session:
            if (
                session.scalar(select(NotifyDelivery.id).where(*due(self._clock())).limit(1))
                is None
            ):
                return []  # an idle dispatcher never takes the write lock
        claims: list[Claim] = []
        with transaction(self._sessions, write=True) as session:
            now = self._clock()
            query = (
                select(NotifyDelivery)
                .where(*due(now))
                .order_by(NotifyDelivery.next_attempt_at, NotifyDelivery.id)
                .with_for_update(skip_locked=True)
                .options(selectinload(NotifyDelivery.event))
            )
            if room is None:
                query = query.limit(limit)
            else:
                ids = _within_room(session, due(now), limit, room)
                if not ids:
                    return []
                query = query.where(NotifyDelivery.id.in_(ids))
            for row in session.scalars(query).all():
                if row.state is not DeliveryState.PENDING or row.next_attempt_at > now:
                    continue  # changed since the candidate query (another server)
                event = row.event
                target = NotifyTarget.model_validate(event.target)
                row.attempts += 1
                row.claimed_by = owner
                row.next_attempt_at = now + lease_for(target)
                row.updated_at = now
                claims.append(
                    Claim(
                        delivery_id=row.id,
                        number=row.attempts,
                        event_id=event.id,
                        task_id=event.task_id,
                        account_id=event.account_id,
                        seq=event.seq,
                        type=event.type,
                        body=event.body,
                        target=target,
                        target_key=row.target_key,
                    )
                )
        return claims

    def record(
        self,
        claim: Claim,
        owner: str,
        outcome: DeliveryOutcome,
        *,
        started_at: datetime,
        duration_ms: float,
    ) -> DeliveryState | None:
        """Log the attempt and move the delivery: delivered, due again after a backoff, or
        dead (past its bound, or at once for a ``permanent`` outcome: refused by the egress
        policy). Returns the delivery's state (``None``: it is gone)."""
        with transaction(self._sessions, write=True) as session:
            now = self._clock()
            row = session.scalars(
                select(NotifyDelivery)
                .where(NotifyDelivery.id == claim.delivery_id)
                .with_for_update()
            ).one_or_none()
            if row is None:
                return None  # its task (and so its event) was deleted
            session.add(_attempt(claim, owner, outcome, started_at, duration_ms))
            mine = _holds(row, claim, owner)
            if outcome.ok and row.state is not DeliveryState.DELIVERED:
                # Delivered is delivered, even if the lease was lost meanwhile.
                row.state = DeliveryState.DELIVERED
                row.delivered_at = now
                row.last_status = outcome.status_code
                row.claimed_by = None
            elif not outcome.ok and mine:
                row.last_error = outcome.error[:MAX_ERROR]
                row.last_status = outcome.status_code
                row.claimed_by = None
                retry_at = self._backoff.next_attempt(row.attempts, now, row.give_up_at, self._rand)
                if retry_at is None or outcome.permanent:
                    row.state = DeliveryState.DEAD
                else:
                    row.next_attempt_at = retry_at
            row.updated_at = now
            return row.state

    def record_written(
        self,
        writes: Sequence[tuple[Claim, Callable[[Session], None]]],
        owner: str,
        *,
        started_at: datetime,
    ) -> list[Claim]:
        """Deliver to local targets in one transaction: for each claim still ``owner``'s,
        run its writer (which adds the message) and record it delivered. Returns the claims
        written; the others were taken over meanwhile and are left to their new owner.
        A writer that raises rolls the whole batch back."""
        written: list[Claim] = []
        began = time.perf_counter()
        ids = [claim.delivery_id for claim, _write in writes]
        # no_autoflush: one flush at commit rather than one before each writer's query.
        with transaction(self._sessions, write=True) as session, session.no_autoflush:
            now = self._clock()
            query = select(NotifyDelivery).where(NotifyDelivery.id.in_(ids)).with_for_update()
            rows = {row.id: row for row in session.scalars(query)}
            for claim, write in writes:
                row = rows.get(claim.delivery_id)
                if row is None or not _holds(row, claim, owner):
                    continue
                write(session)
                took = (time.perf_counter() - began) * 1000  # the batch so far
                session.add(_attempt(claim, owner, DeliveryOutcome.delivered(), started_at, took))
                row.state = DeliveryState.DELIVERED
                row.delivered_at = now
                row.claimed_by = None
                row.updated_at = now
                written.append(claim)
        return written

    def release(self, claims: Iterable[Claim], owner: str) -> int:
        """Hand back claims that were never tried (shutdown): due now, attempt not counted."""
        by_id = {claim.delivery_id: claim for claim in claims}
        if not by_id:
            return 0
        count = 0
        with transaction(self._sessions, write=True) as session:
            now = self._clock()
            query = select(NotifyDelivery).where(NotifyDelivery.id.in_(list(by_id)))
            for row in session.scalars(query.with_for_update()):
                if _holds(row, by_id[row.id], owner):
                    row.attempts -= 1
                    row.claimed_by = None
                    row.next_attempt_at = now
                    row.updated_at = now
                    count += 1
        return count

    def next_due(self) -> datetime | None:
        """When the earliest pending delivery falls due (leased ones included)."""
        with transaction(self._sessions, write=False) as session:
            return session.scalar(
                select(func.min(NotifyDelivery.next_attempt_at)).where(
                    NotifyDelivery.state == DeliveryState.PENDING
                )
            )

    def replay(self, delivery_id: int, *, account_id: int | None = None) -> None:
        """Send a dead delivery again: pending now, with a fresh retry window.

        ``DeliveryNotFound`` for an unknown id or another account's delivery
        (``account_id=None``: any); ``StateError`` unless it is dead."""
        with transaction(self._sessions, write=True) as session:
            now = self._clock()
            row = session.scalars(
                select(NotifyDelivery).where(NotifyDelivery.id == delivery_id).with_for_update()
            ).one_or_none()
            if row is None or (account_id is not None and row.account_id != account_id):
                raise DeliveryNotFound(f"no delivery with id {delivery_id}")
            if row.state is not DeliveryState.DEAD:
                raise StateError(
                    f"delivery {delivery_id} is {row.state.value}: only a dead delivery can "
                    "be replayed"
                )
            row.state = DeliveryState.PENDING
            row.next_attempt_at = now
            row.give_up_at = now + timedelta(seconds=self._backoff.total)
            row.claimed_by = None
            row.updated_at = now


def _within_room(
    session: Session, due: Sequence[ColumnElement[bool]], limit: int, room: Room
) -> list[int]:
    """The ids of the due deliveries a claim of ``limit`` takes, oldest due first, at most
    ``room(key, target)`` per target key. Reads ids, keys and targets only (no bodies, no
    locks); a target's deliveries beyond its ``limit``-th oldest are never even read."""
    ranked = (
        select(
            NotifyDelivery.id,
            NotifyDelivery.event_id,
            NotifyDelivery.target_key,
            NotifyDelivery.next_attempt_at,
            func.row_number()
            .over(
                partition_by=NotifyDelivery.target_key,
                order_by=(NotifyDelivery.next_attempt_at, NotifyDelivery.id),
            )
            .label("rank"),
        )
        .where(*due)
        .subquery()
    )
    candidates = (
        select(ranked.c.id, ranked.c.target_key, NotifyEvent.target)
        .join(NotifyEvent, NotifyEvent.id == ranked.c.event_id)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
    )
    left: dict[str, int] = {}
    ids: list[int] = []
    result = session.execute(candidates)
    try:
        for delivery_id, key, raw in result:
            if key not in left:
                left[key] = room(key, NotifyTarget.model_validate(raw))
            if left[key] > 0:
                left[key] -= 1
                ids.append(delivery_id)
                if len(ids) >= limit:
                    break
    finally:
        result.close()
    return ids


def _holds(row: NotifyDelivery | None, claim: Claim, owner: str) -> bool:
    """Whether ``owner``'s claim on ``row`` is still the current one."""
    return (
        row is not None
        and row.state is DeliveryState.PENDING
        and row.claimed_by == owner
        and row.attempts == claim.number
    )


def _attempt(
    claim: Claim, owner: str, outcome: DeliveryOutcome, started_at: datetime, duration_ms: float
) -> NotifyAttempt:
    return NotifyAttempt(
        delivery_id=claim.delivery_id,
        number=claim.number,
        started_at=started_at,
        duration_ms=round(duration_ms, 3),
        outcome=AttemptOutcome.DELIVERED if outcome.ok else AttemptOutcome.FAILED,
        status_code=outcome.status_code,
        error=outcome.error[:MAX_ERROR],
        worker=owner[:128],
    )
