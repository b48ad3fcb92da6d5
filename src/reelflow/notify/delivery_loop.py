"""The delivery loop: a thread of the server that delivers the outbox at least once.

Its loop claims due deliveries (a lease in the row: see ``deliveries``) as long as it has
free send slots, and hands each to a pool of send threads, which render the body, send it
through the target's sink and record the attempt. It sleeps until it is woken (the outbox
committed an event, a send finished, a delivery was replayed) or the next delivery falls
due, at most ``poll`` seconds.

Isolation between targets: at most ``per_target`` sends to one remote target are in
flight, so a receiver that hangs until its timeout holds a few slots, never all of them;
its deliveries wait their turn and back off while every other target keeps flowing. (The
embedded queue is the database itself: it may use every slot.) A target
whose sink cannot even be built (a library missing, a bad address) fails only its own
deliveries, with the reason on their records.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.engine.scheduler import default_owner
from reelflow.errors import ReelflowError, UrlNotAllowed
from reelflow.notify.body import encode, render
from reelflow.notify.deliveries import Claim, DeliveryStore
from reelflow.notify.sinks.base import (
    DeliveryOutcome,
    LocalSink,
    OutgoingEvent,
    Sink,
    SinkFactory,
)
from reelflow.specs.events import DeliveryState
from reelflow.specs.notify import NotifyTarget

logger = logging.getLogger(__name__)

MAX_SINKS = 256  # sinks (connections) kept open, least recently used closed first


class DeliveryLoop:
    """``DeliveryLoop(store, sinks)``; ``start``/``stop`` in a server, or ``run_pending`` to
    deliver in the calling thread (tests, tools)."""

    def __init__(
        self,
        store: DeliveryStore,
        sinks: SinkFactory,
        *,
        workers: int = 8,
        per_target: int = 4,
        poll: float = 1.0,
        owner: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._sink_factory = sinks
        self._workers = workers
        self._per_target = max(1, min(per_target, workers))
        self._poll = poll
        self.owner = owner or f"notify:{default_owner()}"
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()
        self._limits: dict[str, int] = {}  # target key -> in-flight limit
        self._inflight: dict[Future[None], list[Claim]] = {}
        self._inflight_claims = 0
        self._sinks: OrderedDict[str, Sink] = OrderedDict()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        # Called after each attempt with (claim, state after it); for metrics and benches.
        self.on_attempt: Callable[[Claim, DeliveryState | None], None] | None = None
        self._outage = Outage("notification dispatcher", logger)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the dispatcher is already started")
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="reelflow-notify")
        self._thread = threading.Thread(target=self._loop, name="reelflow-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for due deliveries now (an event was just committed). Any thread."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; hand back claims not yet sent; wait up to ``timeout`` s for sends
        in progress (one still running after that keeps its lease, which expires)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            with self._lock:
                inflight = dict(self._inflight)
            unsent = [
                c for future, claims in inflight.items() if future.cancelled() for c in claims
            ]
            if unsent:
                try:
                    self.store.release(unsent, self.owner)
                except DB_OUTAGES as exc:
                    logger.warning("unsent deliveries not released (%s); leases expire", exc)
            wait_futures([f for f in inflight if not f.cancelled()], timeout=timeout)
        with self._lock:
            sinks = list(self._sinks.values())
            self._sinks.clear()
        for sink in sinks:
            sink.close()

    # -- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._fill()
                timeout = self._idle_timeout()
            except DB_OUTAGES as exc:
                # Leases keep every claimed delivery safe until the database is back.
                timeout = max(self._poll, self._outage.failed(exc))
            except Exception:
                # A database hiccup must not end delivery for good: leases keep every
                # claimed delivery safe until the next round.
                logger.exception("dispatcher round failed; retrying in %.1f s", self._poll)
                timeout = self._poll
            else:
                self._outage.succeeded()
            self._wake.wait(timeout)
            self._wake.clear()

    def _fill(self) -> int:
        """Claim as many deliveries as there are free slots, each target's only as many as
        it has room for, and start sending them: each remote one on its own send thread,
        the local ones (embedded queue) together in one transaction."""
        pool = self._pool
        if pool is None:
            return 0
        with self._lock:
            free = self._workers - self._inflight_claims
            busy = dict(self._busy)
            full = [key for key, n in busy.items() if n >= self._limits[key]]
        if free <= 0 or self._stop.is_set():
            return 0

        def room(key: str, target: NotifyTarget) -> int:
            # Only this thread adds to _busy: sends finishing meanwhile only free room.
            return self._limit(target) - busy.get(key, 0)

        claims = self.store.claim(self.owner, free, exclude_keys=full, room=room)
        local: list[Claim] = []
        with self._lock:
            for claim in claims:
                self._busy[claim.target_key] += 1
                self._limits[claim.target_key] = self._limit(claim.target)
                if claim.target.type == "queue":
                    local.append(claim)
                else:
                    self._submit(pool, [claim])
            if local:
                self._submit(pool, local)
        return len(claims)

    def _submit(self, pool: ThreadPoolExecutor, claims: list[Claim]) -> None:
        """Start sending ``claims`` (one remote delivery, or a batch of local ones); the
        caller holds ``_lock``."""
        task = self._deliver_batch if claims[0].target.type == "queue" else self._deliver_one
        future = pool.submit(task, claims)
        self._inflight[future] = claims
        self._inflight_claims += len(claims)
        future.add_done_callback(self._done)

    def _limit(self, target: NotifyTarget) -> int:
        """How many sends to ``target`` may be in flight at once."""
        return self._workers if target.type == "queue" else self._per_target

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            claims = self._inflight.pop(future, [])
            self._inflight_claims -= len(claims)
            for claim in claims:
                self._busy[claim.target_key] -= 1
                if self._busy[claim.target_key] <= 0:
                    del self._busy[claim.target_key]
                    self._limits.pop(claim.target_key, None)
        self._wake.set()  # slots are free

    def _idle_timeout(self) -> float:
        with self._lock:
            if self._inflight_claims >= self._workers:
                return self._poll  # a finishing send wakes the loop
        due = self.store.next_due()
        if due is None:
            return self._poll
        delay = (due - datetime.now(UTC)).total_seconds()
        # Due already yet not claimed: its target is busy (a send finishing wakes us) or
        # another server holds it.
        return self._poll if delay <= 0 else min(self._poll, delay)

    # -- one delivery ---------------------------------------------------------------------

    def run_pending(self, limit: int = 1000) -> int:
        """Claim and deliver due deliveries in this thread until none is due; returns how
        many attempts were made (at most ``limit``)."""
        made = 0
        while made < limit:
            claims = self.store.claim(self.owner, min(self._workers, limit - made))
            if not claims:
                break
            for claim in claims:
                self.deliver(claim)
                made += 1
        return made

    def _deliver_one(self, claims: list[Claim]) -> None:
        [claim] = claims
        try:
            self.deliver(claim)
        except DB_OUTAGES as exc:
            # The lease runs out and the delivery is tried again (the loop logs the outage).
            logger.info("delivery %s: attempt not recorded: %s", claim.delivery_id, exc)
        except Exception:
            # Recording failed (database): the lease runs out and the delivery is tried
            # again, a duplicate that the event id lets consumers drop.
            logger.exception("delivery %s: could not record the attempt", claim.delivery_id)

    def _deliver_batch(self, claims: list[Claim]) -> None:
        """Write local deliveries and their records in one transaction; if that fails,
        each is sent and recorded on its own."""
        writes: list[tuple[Claim, LocalSink, OutgoingEvent]] = []
        for claim in claims:
            sink = self._local_sink(claim)
            if sink is None:
                self._deliver_one([claim])
            else:
                writes.append((claim, sink, self._outgoing(claim)))
        if not writes:
            return
        try:
            written = self.store.record_written(
                [
                    (claim, functools.partial(sink.write, event=event))
                    for claim, sink, event in writes
                ],
                self.owner,
                started_at=datetime.now(UTC),
            )
        except DB_OUTAGES as exc:
            logger.info("writing %d local deliveries failed (%s); lease expires", len(writes), exc)
            return
        except SQLAlchemyError:
            logger.exception("writing %d local deliveries failed; trying one by one", len(writes))
            for claim, _sink, _event in writes:
                self._deliver_one([claim])
            return
        done = {claim.delivery_id for claim in written}
        by_sink: dict[int, tuple[LocalSink, list[OutgoingEvent]]] = {}
        for claim, sink, event in writes:
            if claim.delivery_id in done:
                by_sink.setdefault(id(sink), (sink, []))[1].append(event)
        for sink, events in by_sink.values():
            sink.committed(events)
        if self.on_attempt is not None:
            for claim in written:
                self.on_attempt(claim, DeliveryState.DELIVERED)

    def _local_sink(self, claim: Claim) -> LocalSink | None:
        try:
            sink = self._sink(claim)
        except Exception:  # building failed: the one-by-one path records why
            return None
        return sink if isinstance(sink, LocalSink) else None

    def deliver(self, claim: Claim) -> None:
        """Send ``claim`` once and record the attempt."""
        started = datetime.now(UTC)
        began = time.perf_counter()
        outcome = self._send(claim)
        duration_ms = (time.perf_counter() - began) * 1000
        if not outcome.ok:
            logger.info(
                "delivery %s of event %s to %s failed (attempt %d): %s",
                claim.delivery_id,
                claim.event_id,
                claim.target.describe(),
                claim.number,
                outcome.error,
            )
        state = self.store.record(
            claim, self.owner, outcome, started_at=started, duration_ms=duration_ms
        )
        if state is DeliveryState.DEAD:
            logger.warning(
                "delivery %s of event %s to %s is dead: %s",
                claim.delivery_id,
                claim.event_id,
                claim.target.describe(),
                outcome.error,
            )
        if self.on_attempt is not None:
            self.on_attempt(claim, state)

    def _outgoing(self, claim: Claim) -> OutgoingEvent:
        """The event as it leaves now (``Timestamp``/``Sign`` are computed here)."""
        sent_at = int(self._wall_clock())
        document = render(claim.body, claim.target.notify_key, sent_at)
        return OutgoingEvent(
            event_id=claim.event_id,
            task_id=claim.task_id,
            account_id=claim.account_id,
            seq=claim.seq,
            type=claim.type,
            document=document,
            body=encode(document),
            sent_at=sent_at,
        )

    def _send(self, claim: Claim) -> DeliveryOutcome:
        event = self._outgoing(claim)
        try:
            return self._sink(claim).send(event)
        except UrlNotAllowed as exc:
            # The message names the refused host and rule, nothing learnt by connecting.
            return DeliveryOutcome.refused(f"{exc.code}: {exc.message}")
        except ReelflowError as exc:
            return DeliveryOutcome.failed(f"{exc.code}: {exc.message}")
        except Exception as exc:
            # A sink is a plug-in: its bug fails this attempt (recorded, retried), never
            # the delivery loop.
            logger.exception("sink for %s raised", claim.target.describe())
            return DeliveryOutcome.failed(f"internal error in the sink: {exc!r}")

    def _sink(self, claim: Claim) -> Sink:
        key = claim.target_key
        with self._lock:
            sink = self._sinks.get(key)
            if sink is not None:
                self._sinks.move_to_end(key)
                return sink
        built = self._sink_factory(claim.target)
        with self._lock:
            sink = self._sinks.setdefault(key, built)
            evicted = self._evict() if sink is built else [built]
        for old in evicted:
            old.close()
        return sink

    def _evict(self) -> list[Sink]:
        """Drop least recently used sinks over ``MAX_SINKS`` that no send is using."""
        evicted: list[Sink] = []
        for key in list(self._sinks):
            if len(self._sinks) <= MAX_SINKS:
                break
            if key not in self._busy:
                evicted.append(self._sinks.pop(key))
        return evicted
