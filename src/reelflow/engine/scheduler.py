"""The scheduler loop: moves jobs from the engine to an executor and events back.

One ``tick``: take back expired leases (now and then), renew this scheduler's leases (now
and then), claim as many jobs as the executor has free slots, submit them. Events from the
executor go to ``Engine.handle`` tagged with the claim they belong to (attempt and owner),
so a late event of a lost or stopped run is never applied.

With an executor whose workers report to the engine themselves (``celery``), the scheduler
only dispatches: it claims with a dispatch lease (``settings.dispatch_timeout``) that it never
renews (the worker adopts the claim and renews it; a lost message lets it expire), keeps at
most ``free_slots`` jobs in flight, and learns from the engine when a claim is over. A
``DispatchWatch`` notices claims that no worker adopts (nobody reads the queue) long before
their dispatch lease ends: the scheduler hands them back and only probes until a worker is
back.

Results are recorded several to a transaction (``reelflow.engine.recording``): an executor
thread's report returns once its result is committed, together with the others that arrived
meanwhile; results reported from inside ``tick`` (an inline executor's ``submit``) are
recorded together at the end of the tick (on an outage they wait, their claims kept, for the
next one).

A job that cannot be sent (``ExecutorUnavailable``: the broker is away) goes back to the
queue without using an attempt, until sends have been failing for longer than
``settings.outage_budget_seconds``: then the jobs that cannot be sent fail with the
executor's code (``ResourceUnavailable.Broker``), naming how long it was away
(``reelflow.engine.outages.SendOutage``). A send that works ends the outage.

A database outage (``DatabaseUnavailable``) is not a failure of the loop: it backs off
(``reelflow.db.outage``), logs one line when the outage starts and one when it ends, and
keeps every claim. Leases are not taken back because the database itself was away: no
worker could renew its lease during the outage, so after one the sweep waits a whole
``lease_seconds`` of reachable database before expiring anything. A live worker renews
within a third of that (its heartbeat period); only a lease that could not be renewed for
``lease_seconds`` while the database was reachable is expired. The sweep runs only in the
loop, so the loop's own view of the database is the one that counts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from reelflow.config import Settings
from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.engine.dispatch import DispatchWatch
from reelflow.engine.events import Report
from reelflow.engine.leftovers import Remover
from reelflow.engine.outages import SendOutage
from reelflow.engine.ports import Executor
from reelflow.engine.recording import Results
from reelflow.engine.service import Engine
from reelflow.errors import ExecutorUnavailable
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload, JobResult

logger = logging.getLogger(__name__)

# The loop's period when workers report to the engine themselves (two cheap queries a tick).
DISPATCH_POLL = 0.1
# Retention (reelflow.engine.retention): a batch of expired tasks every PURGE_EVERY seconds,
# or PURGE_AGAIN after a full batch, so a backlog of old tasks drains without long ticks.
PURGE_EVERY = 10.0
PURGE_AGAIN = 0.5


def default_owner() -> str:
    """A name unique to this scheduler: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Drives ``engine`` with ``executor`` under the lease owner name ``owner``.

    Use either ``run_until`` (the CLI: the calling thread runs the loop) or ``start`` /
    ``stop`` (the server: a background thread). Either way end with ``stop``: it stops the
    executor's jobs and, when graceful, hands them back to the queue at once.
    """

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        settings: Settings,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.owner = owner or default_owner()
        self._remote = executor.reports_to_engine
        self._dispatch_lease = settings.dispatch_timeout if self._remote else None
        self._watch = (
            DispatchWatch(
                # Well inside the dispatch lease, so that a claim never expires (using up
                # an attempt) before the watch has judged it.
                min(settings.dispatch_stall_seconds, settings.dispatch_timeout / 2),
                queue=settings.celery_queue,
                probe_cap=settings.dispatch_timeout / 2,
            )
            if self._remote
            else None
        )
        self._next_review = 0.0
        # Renew well before the lease ends; sweep often enough that a dead worker's job is
        # back in the queue soon after its lease ends.
        self._heartbeat_every = settings.lease_seconds / 3
        self._sweep_every = min(settings.lease_seconds / 2, 5.0)
        self._lease_seconds = settings.lease_seconds
        self._outage = Outage("scheduler", logger)
        self._send_outage = SendOutage(settings.outage_budget_seconds)
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # job id -> attempt this scheduler runs
        # (job id, attempt) of the results being recorded now: their claims end with the
        # record, so a heartbeat that finds them gone has not lost them.
        self._recording: set[tuple[str, int]] = set()
        # Results are recorded several to a transaction (reelflow.engine.recording); those
        # an executor reports from inside this loop's own tick (``submit`` of an inline
        # executor) wait in ``_deferred`` for the end of the tick, to be recorded together.
        self._results = Results(engine.finish_many)
        self._deferred: list[Report] = []
        self._ticking: int | None = None  # the thread running ``tick`` now
        self._accepting = False
        self._opened = False
        self._next_heartbeat = 0.0
        self._next_sweep = 0.0
        self._next_purge = 0.0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._started: dict[str, tuple[str, float]] = {}  # job id -> (kind, monotonic start)
        # Removes a chunked group's leftover parts (bucket, prefix): set by the wiring,
        # which knows the scratch root and the buckets (reelflow.engine.leftovers).
        self.remove_parts: Remover | None = None
        # Called with (seconds, job kind, ok) when one of this scheduler's jobs ends.
        self.on_job_finished: Callable[[float, str, bool], None] | None = None

    # -- the loop -------------------------------------------------------------------------

    def tick(self) -> int:
        """One round of the loop; returns how many jobs it submitted. Results reported
        during the round from inside it are recorded at its end, in one transaction."""
        self._record_deferred()
        self._ticking = threading.get_ident()
        try:
            submitted = self._tick()
        finally:
            self._ticking = None
        self._record_deferred()
        return submitted

    def _tick(self) -> int:
        self._open()
        now = time.monotonic()
        if now >= self._next_sweep and not self._outage.down:
            self._next_sweep = now + self._sweep_every
            self.engine.requeue_expired()
            if self.remove_parts is not None:
                self.engine.remove_leftovers(self.remove_parts)
        if now >= self._next_purge and not self._outage.down:
            # Retention: one small batch per pass, the next pass soon if more are waiting.
            full = self.engine.purge_finished() >= self.engine.retention.batch
            self._next_purge = now + (PURGE_AGAIN if full else PURGE_EVERY)
        if self._remote:
            self._forget_ended()
            self._review_dispatch(now)
        elif now >= self._next_heartbeat or self._outage.down:
            # (During an outage every tick renews: a tick that reached no database must
            # not pass for its return.)
            self._next_heartbeat = now + self._heartbeat_every
            self._heartbeat()
        free = self.executor.free_slots()
        if self._watch is not None:
            free = self._watch.room(free, len(self.running()))
        if free <= 0:
            return 0
        payloads = self.engine.claim(self.owner, free, lease_seconds=self._dispatch_lease)
        for sent, payload in enumerate(payloads):
            with self._lock:
                # Registered before submit: an executor may report before submit returns.
                self._running[payload.job_id] = payload.attempt
                self._started[payload.job_id] = (payload.kind.value, time.monotonic())
            try:
                self.executor.submit(payload)
            except ExecutorUnavailable as exc:
                unsent = payloads[sent:]
                with self._lock:
                    for job in unsent:
                        self._running.pop(job.job_id, None)
                        self._started.pop(job.job_id, None)
                decision = self._send_outage.failed(self.engine.store.now(), exc.message)
                if decision.retry_in is None:
                    self._fail_unsent(unsent, exc.code, decision.message)
                    logger.warning("%s; %d claimed job(s) failed", decision.message, len(unsent))
                else:
                    self.engine.requeue_owner(self.owner, [job.job_id for job in unsent])
                    logger.warning("%s; %d claimed job(s) handed back", exc.message, len(unsent))
                return sent
        if payloads:
            self._send_outage.sent()
        return len(payloads)

    def _fail_unsent(self, jobs: Sequence[JobPayload], code: str, message: str) -> None:
        """Fail claimed jobs that could not be sent for longer than the outage budget."""
        for job in jobs:
            result = JobResult(job_id=job.job_id, ok=False, error_code=code, message=message)
            event = JobEvent(job_id=job.job_id, type=JobEventType.FINISHED, result=result)
            self.engine.handle(event, attempt=job.attempt, owner=self.owner)

    def running(self) -> dict[str, int]:
        """The jobs this scheduler runs now: job id -> attempt."""
        with self._lock:
            return dict(self._running)

    @property
    def dispatch_paused(self) -> bool:
        """Whether dispatch is paused because no worker reads the queue."""
        return self._watch is not None and self._watch.paused

    def run_until(
        self, predicate: Callable[[], bool], poll: float = 0.05, timeout: float | None = None
    ) -> bool:
        """Tick in this thread until ``predicate()`` is true (True) or ``timeout`` s pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.tick()
            if predicate():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def start(self, poll: float = 0.5) -> None:
        """Run the loop in a background thread until ``stop``."""
        if self._thread is not None:
            raise RuntimeError("the scheduler is already started")
        if self._remote:
            # Nothing wakes this loop when a worker in another process ends a job or plans
            # new ones: poll often enough that workers do not wait for their next job.
            poll = min(poll, DISPATCH_POLL)
        self._open()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(poll,), name="reelflow-scheduler", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Tick now rather than at the next poll (new jobs were queued)."""
        self._wake.set()

    def _loop(self, poll: float) -> None:
        while not self._stop.is_set():
            wait = poll
            try:
                self.tick()
            except DB_OUTAGES as exc:
                # Leases keep every job safe until the database is back.
                wait = max(poll, self._outage.failed(exc))
            except Exception:
                # A bug must not end the server's scheduling for good either.
                logger.exception("scheduler tick failed; retrying in %.1f s", poll)
            else:
                if self._outage.succeeded() is not None:
                    self._after_outage()
            # Sleep until the next poll, or until new work or a finished job wakes us.
            self._wake.wait(wait)
            self._wake.clear()

    def _after_outage(self) -> None:
        """Renew this scheduler's leases at once, and hold the sweep for a lease period so
        every other worker can renew its own (see the module docstring)."""
        now = time.monotonic()
        self._next_heartbeat = 0.0
        self._next_sweep = max(self._next_sweep, now + self._lease_seconds)

    def stop(self, graceful: bool = True) -> None:
        """Stop the loop and the executor's jobs (their FFmpeg children are killed).

        ``graceful``: this scheduler's RUNNING jobs go back to the queue at once, without
        using up an attempt. Otherwise they stay as a crash leaves them: their leases expire
        and another scheduler runs them again as a new attempt.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self._record_deferred()  # results already in hand are worth their record
        except DB_OUTAGES as exc:
            logger.warning("finished job(s) not recorded (%s); their leases expire", exc)
        with self._lock:
            # Events of the jobs being killed now are stale: the engine decides from its
            # own records instead.
            self._accepting = False
            self._running.clear()
            self._started.clear()
        self.executor.close(wait=False)
        if graceful and not self._remote:
            # (Dispatched jobs stay with the broker and the workers: they go on running.)
            try:
                requeued = self.engine.requeue_owner(self.owner)
            except DB_OUTAGES as exc:
                logger.warning("running jobs not handed back (%s); their leases expire", exc)
                return
            if requeued:
                logger.info("handed %d running job(s) back to the queue", requeued)

    # -- executor side --------------------------------------------------------------------

    def _open(self) -> None:
        if not self._opened:
            self._opened = True
            self._accepting = True
            self.executor.start(self._on_event)

    def _heartbeat(self) -> None:
        claims = self.running()
        if not claims:
            return
        for job_id in self.engine.heartbeat(self.owner, list(claims)):
            with self._lock:
                attempt = claims[job_id]
                if (job_id, attempt) in self._recording or self._running.get(job_id) != attempt:
                    # Not lost: its result was recorded meanwhile (an executor thread
                    # reports while the loop beats), which ended the claim.
                    continue
                del self._running[job_id]
            logger.warning("lost the lease on job %s: stopping it", job_id)
            self.executor.cancel(job_id)

    def _forget_ended(self) -> None:
        """Free the slots of dispatched jobs whose claim the engine shows is over."""
        claims = self.running()
        if not claims:
            return
        for job_id, ok in self.engine.claims_ended(claims).items():
            with self._lock:
                if self._running.get(job_id) == claims[job_id]:
                    del self._running[job_id]
                started = self._started.pop(job_id, None)
            self.executor.forget(job_id)
            if self._watch is not None:
                self._watch.forget(job_id)
                self._watch.progressed()
            if self.on_job_finished is not None and started is not None:
                kind, start = started
                self._call_observer(time.monotonic() - start, kind, ok)

    def _review_dispatch(self, now: float) -> None:
        """Hand back the claims no worker adopts when the watch finds the queue unread."""
        if self._watch is None or now < self._next_review:
            return
        self._next_review = now + self._watch.check_every
        claims = self.running()
        if not claims:
            return
        with self._lock:
            sent = {job: self._started[job][1] for job in claims if job in self._started}
        waiting = self.engine.claims_waiting(self.owner, claims)
        review = self._watch.review(sent, waiting)
        if not review.hand_back:
            return
        # Only claims still unadopted go back (the engine checks); a message of one of them
        # read later is stale and dropped by the worker.
        self.engine.requeue_owner(self.owner, review.hand_back)
        with self._lock:
            for job_id in review.hand_back:
                self._running.pop(job_id, None)
                self._started.pop(job_id, None)
        for job_id in review.hand_back:
            self.executor.forget(job_id)
            self._watch.forget(job_id)

    def _on_event(self, event: JobEvent) -> None:
        with self._lock:
            attempt = self._running.get(event.job_id) if self._accepting else None
        if attempt is None:
            logger.debug("dropping %s event of job %s: not ours now", event.type, event.job_id)
            return
        if event.type is not JobEventType.FINISHED:
            self.engine.handle(event, attempt=attempt, owner=self.owner)
            return
        report = Report(event, attempt, self.owner)
        if self._ticking == threading.get_ident():
            self._deferred.append(report)  # recorded at the end of this tick, with the others
            return
        # Another thread (a job's): it returns once the result is committed, or raises
        # (an outage: the executor keeps the result and reports it again).
        error = self._record([report])[0]
        if error is not None:
            raise error

    def _record_deferred(self) -> None:
        """Record the results reported from inside a tick; on an outage they wait for the
        next tick (the claims stay ours and their leases are renewed meanwhile)."""
        if not self._deferred:
            return
        with self._lock:
            # A claim lost meanwhile (its lease taken back): its result is stale.
            reports = [r for r in self._deferred if self._running.get(r.event.job_id) == r.attempt]
        self._deferred = []
        if not reports:
            return
        errors = self._record(reports)
        outage: BaseException | None = None
        for report, error in zip(reports, errors, strict=True):
            if isinstance(error, DB_OUTAGES):
                self._deferred.append(report)
                outage = outage or error
            elif error is not None:
                logger.error(
                    "recording the result of job %s failed; its lease decides",
                    report.event.job_id,
                    exc_info=error,
                )
        if outage is not None:
            raise outage

    def _record(self, reports: list[Report]) -> list[BaseException | None]:
        """Record finished jobs' results (``Results``: with others waiting, in one
        transaction) and end their claims here; returns each one's error (``None``: done).
        A claim stays ours only when its record met an outage."""
        claims = [(r.event.job_id, r.attempt or 0) for r in reports]
        with self._lock:
            self._recording.update(claims)
        errors: list[BaseException | None] = [None] * len(reports)
        try:
            errors = self._results.record(reports)
        finally:
            ended: list[tuple[JobEvent, tuple[str, float] | None]] = []
            with self._lock:
                for report, claim, error in zip(reports, claims, errors, strict=True):
                    # In one step with the claim's end: a heartbeat sees the one or the other.
                    self._recording.discard(claim)
                    if isinstance(error, DB_OUTAGES):
                        continue  # the claim stays ours: the result is reported again
                    job_id, attempt = claim
                    if self._running.get(job_id) == attempt:
                        del self._running[job_id]
                    ended.append((report.event, self._started.pop(job_id, None)))
            if ended:
                self._wake.set()  # slots are free, and the jobs may have queued others
            for event, started in ended:
                self._observe(event, started)
        return errors

    def _observe(self, event: JobEvent, started: tuple[str, float] | None) -> None:
        if self.on_job_finished is None or started is None:
            return
        kind, start = started
        self._call_observer(time.monotonic() - start, kind, bool(event.result and event.result.ok))

    def _call_observer(self, seconds: float, kind: str, ok: bool) -> None:
        if self.on_job_finished is None:
            return
        try:
            self.on_job_finished(seconds, kind, ok)
        except Exception:  # metrics must never break job handling
            logger.exception("job observer failed")
