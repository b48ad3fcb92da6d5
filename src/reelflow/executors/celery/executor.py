"""``CeleryExecutor``: the scheduler's side of the cluster; it only sends messages.

Each submitted job becomes one ``reelflow.run_job`` message carrying the ``JobPayload``
JSON (with its claim: ``attempt`` and ``owner``). The executor reports no events: the worker
that runs the job reports to the engine itself, and the scheduler calls ``forget`` once the
engine shows the claim is over, which frees the slot.

``free_slots`` bounds the jobs in flight (``cluster_slots``): waiting in the broker or running
on a worker. Keeping the backlog in the database rather than in the broker keeps priorities
meaningful (a later urgent task is not queued behind everything already sent) and keeps the
wait of a dispatched job well inside its dispatch lease.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, ClassVar

from reelflow.engine.ports import Reporter
from reelflow.errors import BrokerUnavailable
from reelflow.executors.celery.app import RUN_JOB
from reelflow.specs.jobs import JobPayload

logger = logging.getLogger(__name__)

# A publish tries the broker this many times (about 2 s in all) before the scheduler is told
# the broker is unreachable; sending then pauses for a growing while (1 s doubling to 10 s)
# so that a broker outage does not turn into a claim-and-hand-back loop. The cap bounds how
# late sending resumes after the broker is back; each try blocks the scheduler ~2 s.
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
PAUSE_START = 1.0
PAUSE_CAP = 10.0


class CeleryExecutor:
    """``CeleryExecutor(app, queue=, slots=)``: sends jobs to ``queue`` through ``app``
    (``reelflow.engine.ports.Executor``)."""

    reports_to_engine: ClassVar[bool] = True

    def __init__(self, app: Any, *, queue: str, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self._app = app
        self._queue = queue
        self._slots = slots
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._closed = False
        self._paused_until = 0.0
        self._pause = PAUSE_START

    def start(self, report: Reporter) -> None:
        """Nothing to start: workers report to the engine, not through ``report``."""

    def submit(self, job: JobPayload) -> None:
        """Send ``job``; ``BrokerUnavailable`` if the broker cannot be reached."""
        with self._lock:
            if self._closed:
                raise RuntimeError("CeleryExecutor is closed")
            self._in_flight.add(job.job_id)
        try:
            self._app.send_task(
                RUN_JOB,
                args=[job.to_json()],
                queue=self._queue,
                retry=True,
                retry_policy=PUBLISH_RETRY,
            )
        except Exception as exc:
            # Whatever the transport raises (kombu's OperationalError, OSError, redis's and
            # amqp's own errors): the message was not sent, and that is all that matters here.
            with self._lock:
                self._in_flight.discard(job.job_id)
                self._paused_until = time.monotonic() + self._pause
                self._pause = min(self._pause * 2, PAUSE_CAP)
            raise BrokerUnavailable(
                f"the Celery broker is unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        with self._lock:
            self._pause = PAUSE_START

    def free_slots(self) -> int:
        with self._lock:
            if self._closed or time.monotonic() < self._paused_until:
                return 0
            return max(0, self._slots - len(self._in_flight))

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._in_flight.discard(job_id)

    def cancel(self, job_id: str) -> None:
        """Nothing to send: a worker stops a job when its heartbeat finds the claim lost
        (cancelled task or expired lease)."""

    def close(self, *, wait: bool = True) -> None:
        """Stop sending. Jobs already sent are the workers' and go on running."""
        with self._lock:
            self._closed = True
        self._app.close()  # the producer pool's broker connections
