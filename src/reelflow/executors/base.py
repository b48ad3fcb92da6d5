"""The executor contract: jobs are JSON data; executors run them and report, never decide.

An executor receives ``JobPayload`` objects from the scheduler and reports ``JobEvent``s
through the ``Reporter`` it was started with: progress while a job runs, then exactly one
final event with a ``JobResult``. Only ``reelflow.engine`` turns events into state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from reelflow.specs.jobs import JobEvent, JobPayload, JobResult

Reporter = Callable[[JobEvent], None]


class Executor(ABC):
    """Where jobs run. Implementations: ``local`` (threads supervising FFmpeg processes),
    ``celery`` (cluster), ``inline`` (the current thread; tests).

    Contract: ``submit`` never blocks on the job; every submitted job ends with exactly one
    FINISHED event unless ``cancel`` or ``close`` stops it first (the engine then requeues it
    or marks it cancelled from its own state).

    An executor with ``reports_to_engine`` (``celery``) runs jobs on workers that share the
    database and report to the engine themselves (adopting the claim, renewing its lease,
    applying progress and the result): it reports no events, and the scheduler tells it with
    ``forget`` when the engine shows that a submitted job's claim is over.
    """

    reports_to_engine: ClassVar[bool] = False

    @abstractmethod
    def start(self, report: Reporter) -> None:
        """Begin accepting jobs; events go to ``report`` (called from any thread)."""

    @abstractmethod
    def submit(self, job: JobPayload) -> None:
        """Run ``job``."""

    @abstractmethod
    def free_slots(self) -> int:
        """How many more jobs ``submit`` can start now."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stop a running job (its FFmpeg process group is killed); unknown ids are ignored."""

    @abstractmethod
    def close(self, *, wait: bool = True) -> None:
        """Stop accepting jobs; stop running ones unless ``wait``."""

    def forget(self, job_id: str) -> None:  # noqa: B027 - optional hook, no-op by default
        """The claim on ``job_id`` is over (``reports_to_engine`` executors): free its slot."""


class JobContext:
    """What a running job may use: report progress, and see a cancel request."""

    def __init__(self, progress: Callable[[float], None], cancel: Any) -> None:
        self.progress = progress
        self.cancel = cancel  # threading.Event (or any object with is_set())


JobRunner = Callable[[JobPayload, JobContext], JobResult]
