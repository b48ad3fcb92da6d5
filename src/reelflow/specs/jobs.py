"""The job vocabulary: jobs are JSON data that executors run and report on.

A ``JobPayload`` is what the scheduler hands an executor; a ``JobEvent`` is what the
executor reports back: progress while a job runs, then exactly one final event with a
``JobResult``. The same JSON runs in the local pool and on a Celery worker (see
``reelflow.engine.ports`` for the executor contract).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from reelflow.specs.chunks import ChunkedJob, ChunkPlan, SplitFound
from reelflow.specs.media import MediaInfo
from reelflow.specs.outputs import SubTaskResult
from reelflow.specs.requests import TaskSource
from reelflow.specs.works import Work, parse_works


def _probe_in(value: object) -> object:
    return MediaInfo.from_json(value) if isinstance(value, dict) else value


def _works_in(value: object) -> object:
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return parse_works(value)
    return value


# In JSON (a Celery message, a job row) a probe is ``MediaInfo.to_json()`` and a work
# ``Work.to_json()``, read back by their own ``from_json``/``parse_works`` (which tolerate
# what pydantic's own dataclass validation would not: keys of a newer version).
ProbeField = Annotated[MediaInfo, BeforeValidator(_probe_in), PlainSerializer(MediaInfo.to_json)]
WorksField = Annotated[
    list[Work],
    BeforeValidator(_works_in),
    PlainSerializer(lambda works: [work.to_json() for work in works]),
]


class JobKind(StrEnum):
    PROBE = "probe"  # fetch/probe the source: the DAG's prepare step
    MEDIA = "media"  # one FFmpeg process serving one or more sub-tasks
    CHUNK = "chunk"  # a part of a chunked group: split, one chunk's video, the audio
    JOIN = "join"  # the end of a chunked group: join its parts, commit its outputs


class JobData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobPayload(JobData):
    """A job as data: the same JSON runs in the local pool and on a Celery worker.

    For ``MEDIA`` jobs ``works`` holds the planned sub-task works (``reelflow.specs.works``)
    and ``media_info`` the source's probe. It becomes JSON only where it leaves the process
    (:meth:`to_json`: a Celery message, the job row). ``attempt`` and ``owner`` name the
    claim being run (set by ``Engine.claim``): a cluster worker adopts exactly that claim
    and reports under it.
    """

    job_id: str
    task_id: str
    kind: JobKind
    attempt: int = 1
    owner: str = ""
    source: TaskSource
    media_info: ProbeField | None = None
    works: WorksField = []
    video_preset: str = "medium"
    ffmpeg_threads: int = 0  # REELFLOW_FFMPEG_THREADS: 0 = FFmpeg's default
    timeout: float = 6 * 3600.0
    chunked: ChunkedJob | None = None  # CHUNK and JOIN jobs: their part of the group

    def to_json(self) -> dict[str, Any]:
        """The job as JSON: a Celery message's argument, a job row's ``payload``."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_json`."""
        return cls.model_validate(data)


class SubTaskOutcome(JobData):
    """What happened to one sub-task inside a job.

    ``output`` is what a successful sub-task made (``reelflow.specs.outputs``).
    """

    index: int
    ok: bool
    error_code: str = ""
    message: str = ""
    output: SubTaskResult | None = None


class JobResult(JobData):
    """A job's final outcome. ``ok`` false with ``retryable`` true asks for another attempt."""

    job_id: str
    ok: bool
    error_code: str = ""
    message: str = ""
    retryable: bool = False
    media_info: MediaInfo | None = None
    subtasks: list[SubTaskOutcome] = []
    chunk_plan: ChunkPlan | None = None  # a SPLIT job's plan (None: too short to chunk)
    # A SPLIT job's boundaries of its range (a transcode group's; a ladder's gives its plan)
    split_found: SplitFound | None = None
    difficulty: float | None = None  # a PROBE job's: its chunk's bits per second
    # A PROBE job's: the seconds its probe encode ran (what the chunk's encode will cost,
    # relative to the others': the probe decodes the chunk as its encode will).
    cost: float | None = None


class JobEventType(StrEnum):
    PROGRESS = "progress"
    FINISHED = "finished"


class JobEvent(JobData):
    job_id: str
    type: JobEventType
    progress: float = 0.0  # 0..100 for the whole job
    result: JobResult | None = None
