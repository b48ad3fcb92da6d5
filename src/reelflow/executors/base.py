"""The executor contract: jobs are JSON data; executors run them and report, never decide.

An executor receives ``JobPayload`` objects from the scheduler and reports ``JobEvent``s
through the ``Reporter`` it was started with: progress while a job runs, then exactly one
final event with a ``JobResult``. Only ``reelflow.engine`` turns events into state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from reelflow.specs.requests import TaskSource


class JobKind(StrEnum):
    PROBE = "probe"  # fetch/probe the source: the DAG's prepare step
    MEDIA = "media"  # one FFmpeg process serving one or more sub-tasks


class Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobPayload(Job):
    """A job as data: the same JSON runs in the local pool and on a Celery worker.

    For ``MEDIA`` jobs ``works`` holds the planned sub-task works (see ``reelflow.planner``)
    and ``media_info`` the source's probe (``MediaInfo.to_dict()``). ``attempt`` and
    ``owner`` name the claim being run (set by ``Engine.claim``): a cluster worker adopts
    exactly that claim and reports under it.
    """

    job_id: str
    task_id: str
    kind: JobKind
    attempt: int = 1
    owner: str = ""
    source: TaskSource
    media_info: dict[str, Any] | None = None
    works: list[dict[str, Any]] = []
    video_preset: str = "medium"
    timeout: float = 6 * 3600.0


class SubTaskOutcome(Job):
    """What happened to one sub-task inside a job.

    ``output`` is the compatible API's output item for the kind (``MediaTranscodeItem``, ...).
    """

    index: int
    ok: bool
    error_code: str = ""
    message: str = ""
    output: dict[str, Any] | None = None


class JobResult(Job):
    """A job's final outcome. ``ok`` false with ``retryable`` true asks for another attempt."""

    job_id: str
    ok: bool
    error_code: str = ""
    message: str = ""
    retryable: bool = False
    media_info: dict[str, Any] | None = None
    subtasks: list[SubTaskOutcome] = []


class JobEventType(StrEnum):
    PROGRESS = "progress"
    FINISHED = "finished"


class JobEvent(Job):
    job_id: str
    type: JobEventType
    progress: float = 0.0  # 0..100 for the whole job
    result: JobResult | None = None


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
