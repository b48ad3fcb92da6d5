"""The inline executor: runs each job to the end inside ``submit`` (tests, debugging).

Deterministic and single-threaded: when ``submit`` returns, the job's events have been
reported. It breaks the "submit never blocks" rule of ``reelflow.engine.ports.Executor`` on
purpose.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from reelflow.engine.ports import Reporter
from reelflow.executors.base import JobContext, JobRunner
from reelflow.executors.local import run_guarded
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload


class InlineExecutor:
    """Implements ``reelflow.engine.ports.Executor``."""

    reports_to_engine: ClassVar[bool] = False

    def __init__(self, runner: JobRunner, slots: int = 1) -> None:
        self._runner = runner
        self._slots = slots
        self._report: Reporter | None = None
        self._closed = False
        self.submitted: list[JobPayload] = []  # every job run, in order (for assertions)

    def start(self, report: Reporter) -> None:
        self._report = report

    def submit(self, job: JobPayload) -> None:
        report = self._report
        if report is None:
            raise RuntimeError("InlineExecutor.start(report) must be called before submit")
        if self._closed:
            raise RuntimeError("InlineExecutor is closed")
        self.submitted.append(job)

        def progress(value: float) -> None:
            report(JobEvent(job_id=job.job_id, type=JobEventType.PROGRESS, progress=value))

        result = run_guarded(self._runner, job, JobContext(progress, threading.Event()))
        report(
            JobEvent(job_id=job.job_id, type=JobEventType.FINISHED, progress=100.0, result=result)
        )

    def free_slots(self) -> int:
        return 0 if self._closed else self._slots

    def cancel(self, job_id: str) -> None:
        """Nothing to stop: a job never outlives ``submit``."""

    def close(self, *, wait: bool = True) -> None:
        self._closed = True

    def forget(self, job_id: str) -> None:
        """Nothing held: the job reported its own end."""
