"""The local executor: a pool of threads, each supervising one job.

Threads, not processes, because a job's heavy work already runs in its own FFmpeg child
process: the supervising thread only starts FFmpeg, reads its progress, uploads results
and waits, all of which release the GIL. Threads share the storage clients and the
reporter, are cancelled with a ``threading.Event``, and start instantly (see
``docs/adr/0001-local-executor-threads.md``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.engine.ports import Reporter
from reelflow.errors import ReelflowError
from reelflow.executors.base import JobContext, JobRunner
from reelflow.executors.reporting import report_until_recorded
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload, JobResult

logger = logging.getLogger(__name__)


def run_guarded(runner: JobRunner, job: JobPayload, ctx: JobContext) -> JobResult:
    """Run ``job`` and always return its result: an exception becomes a failed result.

    A ``ReelflowError`` keeps its code and ``retryable``; anything else is a bug, reported as
    ``InternalError`` (not retried: it would fail the same way) with its traceback logged.
    """
    try:
        result = runner(job, ctx)
    except ReelflowError as exc:
        return JobResult(
            job_id=job.job_id,
            ok=False,
            error_code=exc.code,
            message=exc.message,
            retryable=exc.retryable,
        )
    except Exception as exc:
        logger.exception("job %s (task %s) crashed", job.job_id, job.task_id)
        return JobResult(
            job_id=job.job_id,
            ok=False,
            error_code="InternalError",
            message=f"unexpected error: {type(exc).__name__}: {exc}",
            retryable=False,
        )
    if result.job_id != job.job_id:
        result = result.model_copy(update={"job_id": job.job_id})
    return result


class LocalExecutor:
    """Runs up to ``slots`` jobs at once in this process (``reelflow.engine.ports.Executor``).

    A cancelled job (``cancel`` or ``close(wait=False)``) reports nothing more: the engine
    decides its state from its own records (requeued on shutdown, cancelled, or lost lease).
    """

    reports_to_engine: ClassVar[bool] = False

    def __init__(self, runner: JobRunner, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self._runner = runner
        self._slots = slots
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="reelflow-job")
        self._lock = threading.Lock()
        self._active: dict[str, threading.Event] = {}
        self._report: Reporter | None = None
        self._closed = False
        # Finished jobs whose result is not recorded yet (the database is away): no slot
        # held, but ``cancel`` and ``close`` still stop their reporting.
        self._reporting: dict[str, threading.Event] = {}
        self._outage = Outage("local executor: reporting results", logger)

    def start(self, report: Reporter) -> None:
        self._report = report

    def submit(self, job: JobPayload) -> None:
        report = self._report
        if report is None:
            raise RuntimeError("LocalExecutor.start(report) must be called before submit")
        cancel = threading.Event()
        with self._lock:
            if self._closed:
                raise RuntimeError("LocalExecutor is closed")
            previous = self._active.get(job.job_id)
            if previous is not None:
                # The same job again (a new attempt after a lost lease): the old run must
                # stop; its late events would be stale.
                previous.set()
            self._active[job.job_id] = cancel
        self._pool.submit(self._run, job, cancel, report)

    def free_slots(self) -> int:
        with self._lock:
            return 0 if self._closed else max(0, self._slots - len(self._active))

    def cancel(self, job_id: str) -> None:
        with self._lock:
            events = [e for e in (self._active.get(job_id), self._reporting.get(job_id)) if e]
        for event in events:
            event.set()

    def close(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            if not wait:
                for event in [*self._active.values(), *self._reporting.values()]:
                    event.set()
        # Always wait for the job threads: with wait=False they have just been told to stop,
        # and each kills its FFmpeg process group and reaps it before returning. Returning
        # earlier would let the process exit with FFmpeg children still running.
        self._pool.shutdown(wait=True, cancel_futures=not wait)

    def forget(self, job_id: str) -> None:
        """Nothing held: a job's slot is free once it reported its end."""

    def _run(self, job: JobPayload, cancel: threading.Event, report: Reporter) -> None:
        def progress(value: float) -> None:
            if not cancel.is_set():
                self._emit(
                    report, JobEvent(job_id=job.job_id, type=JobEventType.PROGRESS, progress=value)
                )

        try:
            result = run_guarded(self._runner, job, JobContext(progress=progress, cancel=cancel))
        finally:
            with self._lock:
                if self._active.get(job.job_id) is cancel:
                    del self._active[job.job_id]
                self._reporting[job.job_id] = cancel
        try:
            self._finish(job, result, cancel, report)
        finally:
            with self._lock:
                if self._reporting.get(job.job_id) is cancel:
                    del self._reporting[job.job_id]

    def _finish(
        self, job: JobPayload, result: JobResult, cancel: threading.Event, report: Reporter
    ) -> None:
        if cancel.is_set():
            logger.info("job %s stopped on request; its result is dropped", job.job_id)
            return
        finished = JobEvent(
            job_id=job.job_id, type=JobEventType.FINISHED, progress=100.0, result=result
        )
        # The database may be away: keep the result and report it when it is back (the
        # FFmpeg work is not redone). A cancel (shutdown, lost lease) drops it.
        try:
            if not report_until_recorded(lambda: report(finished), cancel, self._outage):
                logger.info("job %s stopped before its result was recorded", job.job_id)
        except Exception:
            # The reporter is the engine's side; its failure must not kill this worker
            # thread. The job's lease then expires and the engine runs it again.
            logger.exception("reporting the result of job %s failed", job.job_id)

    @staticmethod
    def _emit(report: Reporter, event: JobEvent) -> None:
        try:
            report(event)
        except DB_OUTAGES:
            pass  # progress is advisory: the next report or the result carries on
        except Exception:
            # The reporter is the engine's side; its failure must not kill this worker
            # thread. The job's lease then expires and the engine runs it again.
            logger.exception("reporting %s of job %s failed", event.type, event.job_id)
