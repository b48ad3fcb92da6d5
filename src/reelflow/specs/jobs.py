"""The job vocabulary: jobs are JSON data that executors run and report on.

A ``JobPayload`` is what the scheduler hands an executor; a ``JobEvent`` is what the
executor reports back: progress while a job runs, then exactly one final event with a
``JobResult``. The same JSON runs in the local pool and on a Celery worker (see
``reelflow.executors.base`` for the executor contract).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from reelflow.specs.requests import TaskSource


class JobKind(StrEnum):
    PROBE = "probe"  # fetch/probe the source: the DAG's prepare step
    MEDIA = "media"  # one FFmpeg process serving one or more sub-tasks


class JobData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobPayload(JobData):
    """A job as data: the same JSON runs in the local pool and on a Celery worker.

    For ``MEDIA`` jobs ``works`` holds the planned sub-task works (``reelflow.specs.works``)
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


class SubTaskOutcome(JobData):
    """What happened to one sub-task inside a job.

    ``output`` is the compatible API's output item for the kind (``MediaTranscodeItem``, ...).
    """

    index: int
    ok: bool
    error_code: str = ""
    message: str = ""
    output: dict[str, Any] | None = None


class JobResult(JobData):
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


class JobEvent(JobData):
    job_id: str
    type: JobEventType
    progress: float = 0.0  # 0..100 for the whole job
    result: JobResult | None = None
