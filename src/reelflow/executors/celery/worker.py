"""``JobWorker``: the worker's side of the cluster; runs payloads, reports to the engine.

A message is a claim. Before running, the worker *adopts* it (``EngineLink.adopt``): the
lease becomes the worker's and its heartbeats renew it every ``lease_seconds / 3``. Progress
and the final ``JobResult`` go straight to the engine under that claim, so the engine
applies them exactly once whatever the broker does:

- a stale message (claim expired or cancelled, or already adopted by a worker that has
  died since: a redelivery) is acknowledged without running;
- a worker killed mid-job stops renewing; the engine takes the job back when the lease
  ends and dispatches a new attempt; any late message of the old attempt is stale;
- a job whose lease is lost while it runs (the heartbeat says so) is stopped and reports
  nothing.
- a message that arrives while the database is away waits for it to come back before the
  adoption; a job that finishes while it is away keeps its result (in memory) and reports
  it when the database is back, renewing its lease meanwhile; the server's sweep does not
  expire leases because of the outage (``reelflow.engine.scheduler``). Only ``stop`` drops
  an unreported result.

The runner is the local pool's ``JobRunner`` (``JobRuntime``): the same JSON runs the same
way everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum
from typing import Any, Protocol

from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.executors.base import JobContext, JobRunner
from reelflow.executors.local import run_guarded
from reelflow.executors.reporting import report_until_recorded
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload

logger = logging.getLogger(__name__)


class EngineLink(Protocol):
    """What a worker needs of ``reelflow.engine.service.Engine`` (over the shared database)."""

    def adopt(self, job_id: str, attempt: int, dispatcher: str, worker: str) -> bool: ...

    def heartbeat(self, owner: str, job_ids: list[str]) -> list[str]: ...

    def handle(
        self, event: JobEvent, *, attempt: int | None = None, owner: str | None = None
    ) -> bool: ...

    def requeue_owner(self, owner: str, job_ids: list[str] | None = None) -> int: ...


class Outcome(StrEnum):
    DONE = "done"  # ran, and the engine has the result
    STALE = "stale"  # not run: the claim was over or someone else's
    LOST = "lost"  # stopped: the lease was lost, or the worker is shutting down
    UNADOPTED = "unadopted"  # stopped while the database was away: the dispatch lease decides
    UNREPORTED = "unreported"  # ran, but stopped before the result was written (the lease decides)


class JobWorker:
    """``JobWorker(engine, runner, owner=, lease_seconds=)``; ``start`` / ``stop`` around use."""

    def __init__(
        self, engine: EngineLink, runner: JobRunner, *, owner: str, lease_seconds: float
    ) -> None:
        self.engine = engine
        self.runner = runner
        self.owner = owner
        self._lease = lease_seconds
        self._lock = threading.Lock()
        self._active: dict[str, threading.Event] = {}
        self._holding = 0  # messages held until the database is back to adopt them
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._beats = Outage("worker: lease heartbeat", logger)
        self._reports = Outage("worker: reporting results", logger)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start renewing the leases of running jobs."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._beat, name="reelflow-lease-heartbeat", daemon=True
            )
            self._thread.start()

    def stop(self) -> int:
        """Stop the running jobs (FFmpeg children are killed) and hand them back to the
        queue at once, without using up an attempt; returns how many went back."""
        with self._lock:
            self._stopping.set()
            for cancel in self._active.values():
                cancel.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self._hand_back(None)

    def _hand_back(self, job_ids: list[str] | None) -> int:
        try:
            return self.engine.requeue_owner(self.owner, job_ids)
        except DB_OUTAGES as exc:
            logger.warning("could not hand the running jobs back (%s); their leases expire", exc)
            return 0

    def running(self) -> list[str]:
        with self._lock:
            return list(self._active)

    def occupied(self) -> int:
        """How many threads a message takes now: running its job, or holding its claim
        until the database is back to adopt it (such a thread takes no other message)."""
        with self._lock:
            return len(self._active) + self._holding

    # -- one message ----------------------------------------------------------------------

    def run(self, message: dict[str, Any]) -> Outcome:
        """Run the job of one ``reelflow.run_job`` message (its ``JobPayload`` JSON)."""
        job = JobPayload.from_json(message)
        if self._stopping.is_set():
            return Outcome.LOST  # acknowledged unrun: the dispatch lease brings it back
        # The database may be away: hold the message (a claim) until it is back rather than
        # drop it, which would leave the job to its dispatch lease.
        answers: list[bool] = []

        def adopt() -> None:
            answers.append(self.engine.adopt(job.job_id, job.attempt, job.owner, self.owner))

        with self._lock:
            self._holding += 1
        try:
            held = report_until_recorded(adopt, self._stopping, self._reports)
        finally:
            with self._lock:
                self._holding -= 1
        if not held:
            logger.warning("job %s not adopted before the worker stopped", job.job_id)
            return Outcome.UNADOPTED
        adopted = answers[-1]
        if not adopted:
            logger.info("job %s attempt %s: stale message, not run", job.job_id, job.attempt)
            return Outcome.STALE
        cancel = threading.Event()
        with self._lock:
            stopping = self._stopping.is_set()
            if not stopping:
                self._active[job.job_id] = cancel
        if stopping:  # ``stop`` ran while this claim was being adopted: give it back too
            self._hand_back([job.job_id])
            return Outcome.LOST
        started = time.monotonic()
        logger.info("job %s attempt %s (%s, task %s, from %s): running", *_names(job))
        try:
            result = run_guarded(self.runner, job, JobContext(self._progress(job), cancel))
            if cancel.is_set():
                logger.info(
                    "job %s attempt %s stopped; its result is dropped", job.job_id, job.attempt
                )
                return Outcome.LOST
            event = JobEvent(
                job_id=job.job_id, type=JobEventType.FINISHED, progress=100.0, result=result
            )
            # Still in _active while reporting: the heartbeat keeps renewing its lease.
            reported = self._report(job, event)
        finally:
            with self._lock:
                if self._active.get(job.job_id) is cancel:
                    del self._active[job.job_id]
        logger.info(
            "job %s attempt %s: %s in %.3f s",
            job.job_id,
            job.attempt,
            "ok" if result.ok else f"failed ({result.error_code})",
            time.monotonic() - started,
        )
        return Outcome.DONE if reported else Outcome.UNREPORTED

    def _progress(self, job: JobPayload) -> Any:
        def report(value: float) -> None:
            event = JobEvent(job_id=job.job_id, type=JobEventType.PROGRESS, progress=value)
            try:
                self.engine.handle(event, attempt=job.attempt, owner=self.owner)
            except DB_OUTAGES as exc:
                # Progress is advisory: the next report, or the result, carries on.
                logger.debug("progress of job %s not recorded: %s", job.job_id, exc)

        return report

    def _report(self, job: JobPayload, event: JobEvent) -> bool:
        def record() -> None:
            self.engine.handle(event, attempt=job.attempt, owner=self.owner)

        if report_until_recorded(record, self._stopping, self._reports):
            return True
        logger.warning(
            "result of job %s attempt %s not recorded before the worker stopped; the engine "
            "runs it again when the lease ends",
            job.job_id,
            job.attempt,
        )
        return False

    # -- leases ---------------------------------------------------------------------------

    def _beat(self) -> None:
        every = self._lease / 3
        while not self._stopping.wait(every):
            self.beat()

    def beat(self) -> None:
        """Renew this worker's leases once; stop the jobs the engine says it lost."""
        job_ids = self.running()
        if not job_ids:
            return
        try:
            lost = self.engine.heartbeat(self.owner, job_ids)
        except DB_OUTAGES as exc:
            self._beats.failed(exc)  # logged once per outage; the period stays lease / 3
            return
        self._beats.succeeded()
        for job_id in lost:
            logger.warning("lost the lease on job %s: stopping it", job_id)
            with self._lock:
                cancel = self._active.get(job_id)
            if cancel is not None:
                cancel.set()


def _names(job: JobPayload) -> tuple[str, int, str, str, str]:
    return job.job_id, job.attempt, job.kind.value, job.task_id, job.owner
