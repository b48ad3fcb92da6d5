"""Fakes for engine tests: a planner, a scripted job runner, a settable clock, a driver."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelflow.compat.outputs import output_item
from reelflow.db.models import Job
from reelflow.engine.service import Engine
from reelflow.executors.base import JobContext
from reelflow.executors.local import run_guarded
from reelflow.planner.base import Plan, PlannedJob, Rejection
from reelflow.presets.catalog import get_preset
from reelflow.presets.lookup import TemplateLookup
from reelflow.specs.jobs import (
    JobEvent,
    JobEventType,
    JobKind,
    JobPayload,
    JobResult,
    SubTaskOutcome,
)
from reelflow.specs.media import MediaInfo, VideoStreamInfo
from reelflow.specs.outputs import OutputFile, TranscodeResult
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec
from reelflow.specs.tasks import MediaProcessTask, TranscodeTaskInput
from reelflow.specs.templates import TemplateKind, TranscodeTemplate
from reelflow.specs.works import TranscodeWork

# What the scripted probe reports: a 10 s 640x360 video without audio.
MEDIA_INFO = MediaInfo(
    container="mov,mp4,m4a,3gp,3g2,mj2",
    duration=10.0,
    size=1_000_000,
    bitrate=800_000,
    video=(
        VideoStreamInfo(
            index=0,
            codec="h264",
            width=640,
            height=360,
            rotation=0,
            fps=25.0,
            fps_num=25,
            fps_den=1,
            pix_fmt="yuv420p",
            bitrate=800_000,
            duration=10.0,
            interlaced=False,
            frame_count=250,
        ),
    ),
    audio=(),
)


def make_request(n: int = 2, *, session_id: str = "", priority: int = 0) -> TaskRequest:
    return TaskRequest(
        source=TaskSource(type="bucket", bucket="in", key="up/clip.mp4"),
        media_process_task=MediaProcessTask(
            transcode_task_set=[TranscodeTaskInput(definition=100010 + i) for i in range(n)]
        ),
        session_id=session_id,
        priority=priority,
    )


def result_for(index: int) -> TranscodeResult:
    """What the scripted runner reports for the sub-task at ``index``."""
    key = f"up/clip_transcode_{index}.mp4"
    file = OutputFile(bucket="in", key=key, size=1000 + index, md5="0" * 32)
    return TranscodeResult(definition=100010 + index, file=file, container="mp4")


def transcode_template() -> TranscodeTemplate:
    """The system preset 100010 (MP4 H.264 360p)."""
    template = get_preset(TemplateKind.TRANSCODE, 100010)
    assert isinstance(template, TranscodeTemplate)
    return template


def work(index: int) -> TranscodeWork:
    """The work ``FakePlanner`` plans for the sub-task at ``index``."""
    return TranscodeWork(
        index=index,
        definition=100010 + index,
        bucket="in",
        template=transcode_template(),
        width=640,
        height=360,
        key=f"up/clip_transcode_{index}.mp4",
    )


def output_for(index: int) -> dict[str, Any]:
    """The output item the engine stores for ``result_for(index)``."""
    return output_item(result_for(index))


class FakePlanner:
    """One TRANSCODE spec per transcode input; ``plan`` puts all sub-tasks in one job
    (or one job each with ``split``), minus the indices in ``rejections``.
    """

    def __init__(self) -> None:
        self.rejections: dict[int, tuple[str, str]] = {}
        self.split = False
        self.plan_error: Exception | None = None
        self.resolve_calls = 0
        self.lookups: list[TemplateLookup] = []
        self.plan_calls: list[list[int]] = []

    def resolve(self, request: TaskRequest, templates: TemplateLookup) -> list[SubTaskSpec]:
        self.resolve_calls += 1
        self.lookups.append(templates)
        return [
            SubTaskSpec(
                index=i,
                kind=SubTaskKind.TRANSCODE,
                definition=item.definition,
                input=item.to_json(),
                template={"container": "mp4"},
                output_bucket=request.resolved_output_bucket(),
                output_dir=request.resolved_output_dir(),
            )
            for i, item in enumerate(request.media_process_task.transcode_task_set)
        ]

    def plan(self, subtasks: list[SubTaskSpec], media_info: MediaInfo, source_name: str) -> Plan:
        assert media_info == MEDIA_INFO
        assert source_name == "clip.mp4"
        self.plan_calls.append([spec.index for spec in subtasks])
        if self.plan_error is not None:
            raise self.plan_error
        rejected = tuple(
            Rejection(spec.index, *self.rejections[spec.index])
            for spec in subtasks
            if spec.index in self.rejections
        )
        rest = [spec.index for spec in subtasks if spec.index not in self.rejections]
        groups = [[i] for i in rest] if self.split else ([rest] if rest else [])
        jobs = tuple(PlannedJob(subtasks=tuple(g), works=tuple(work(i) for i in g)) for g in groups)
        return Plan(jobs=jobs, rejected=rejected)


Step = Callable[[JobPayload], JobResult] | Exception


class ScriptedRunner:
    """A ``JobRunner`` without FFmpeg.

    By default a probe returns ``MEDIA_INFO`` and a media job succeeds for every work
    (``work(i)``) with ``result_for(i)``, except the indices in ``failing``. Steps
    queued in ``script[kind]`` replace the default for the next jobs of that kind: a
    function of the payload returning the result, or an exception to raise.
    """

    def __init__(self) -> None:
        self.calls: list[JobPayload] = []
        self.script: dict[JobKind, list[Step]] = {JobKind.PROBE: [], JobKind.MEDIA: []}
        self.failing: dict[int, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def media_calls(self) -> list[JobPayload]:
        return [job for job in self.calls if job.kind is JobKind.MEDIA]

    def probe_calls(self) -> list[JobPayload]:
        return [job for job in self.calls if job.kind is JobKind.PROBE]

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        with self._lock:
            self.calls.append(job)
            queue = self.script[job.kind]
            step = queue.pop(0) if queue else None
        if isinstance(step, Exception):
            raise step
        if step is not None:
            return step(job)
        if job.kind is JobKind.PROBE:
            return JobResult(job_id=job.job_id, ok=True, media_info=MEDIA_INFO)
        return JobResult(
            job_id=job.job_id, ok=True, subtasks=[self.outcome(w.index) for w in job.works]
        )

    def outcome(self, index: int) -> SubTaskOutcome:
        if index in self.failing:
            code, message = self.failing[index]
            return SubTaskOutcome(index=index, ok=False, error_code=code, message=message)
        return SubTaskOutcome(index=index, ok=True, output=result_for(index))


class FakeClock:
    """A settable UTC clock; starts at a fixed instant."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class NoCancel:
    def is_set(self) -> bool:
        return False


def finished(job: JobPayload, result: JobResult) -> JobEvent:
    return JobEvent(job_id=job.job_id, type=JobEventType.FINISHED, result=result)


def run(engine: Engine, runner: ScriptedRunner, job: JobPayload, owner: str = "w1") -> bool:
    """Run one claimed job through ``runner`` and hand its result to the engine."""
    result = run_guarded(runner, job, JobContext(progress=lambda _: None, cancel=NoCancel()))
    return engine.handle(finished(job, result), attempt=job.attempt, owner=owner)


def drive(engine: Engine, runner: ScriptedRunner, owner: str = "w1", rounds: int = 20) -> int:
    """Claim and run jobs until none is ready now; returns how many jobs ran."""
    ran = 0
    for _ in range(rounds):
        jobs = engine.claim(owner, 10)
        if not jobs:
            return ran
        for job in jobs:
            run(engine, runner, job, owner)
            ran += 1
    raise AssertionError(f"still jobs to run after {rounds} rounds")


def job_rows(db: DbEngine, task_id: str) -> list[Job]:
    """The task's job rows, oldest first (detached snapshots)."""
    with Session(db, expire_on_commit=False) as session:
        return list(session.scalars(select(Job).where(Job.task_id == task_id).order_by(Job.id)))
