"""A task graph through the engine: stages planned when their upstream succeeds, upstream
failures, and retry of a failed downstream only (real planner, scripted runner)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.db.session import session_factory
from reelflow.engine.service import Engine
from reelflow.executors.base import JobContext
from reelflow.planner.plan import DefaultPlanner
from reelflow.specs.jobs import JobKind, JobPayload, JobResult, SubTaskOutcome
from reelflow.specs.outputs import (
    ImageSpriteResult,
    OutputFile,
    SnapshotImage,
    SnapshotResult,
    SubTaskResult,
    TranscodeResult,
)
from reelflow.specs.requests import TaskRequest
from reelflow.specs.states import SubTaskState, TaskState
from reelflow.specs.works import ImageSpriteWork, SnapshotWork, TranscodeWork, Work
from tests.unit.engine.fakes import MEDIA_INFO, FakeClock, drive, job_rows

RENDITION = dataclasses.replace(  # what the job measured of the rendition: 8 s
    MEDIA_INFO, duration=8.0, video=(dataclasses.replace(MEDIA_INFO.video[0], duration=8.0),)
)


class GraphRunner:
    """Probes answer ``MEDIA_INFO``; media jobs make one result per work, except for the
    indices in ``failing`` (failed once each time they are listed)."""

    def __init__(self) -> None:
        self.calls: list[JobPayload] = []
        self.failing: list[int] = []

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        self.calls.append(job)
        if job.kind is JobKind.PROBE:
            info = MEDIA_INFO if job.source.key == "up/clip.mp4" else RENDITION
            return JobResult(job_id=job.job_id, ok=True, media_info=info)
        outcomes = []
        for work in job.works:
            if work.index in self.failing:
                self.failing.remove(work.index)
                outcomes.append(
                    SubTaskOutcome(
                        index=work.index, ok=False, error_code="FFmpegFailed", message="x"
                    )
                )
            else:
                outcomes.append(SubTaskOutcome(index=work.index, ok=True, output=result(work)))
        return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)

    def media(self) -> list[JobPayload]:
        return [job for job in self.calls if job.kind is JobKind.MEDIA]


def result(work: Work) -> SubTaskResult:
    if isinstance(work, TranscodeWork):
        file = OutputFile(bucket=work.bucket, key=work.key, size=10, md5="0" * 32, media=RENDITION)
        return TranscodeResult(definition=work.definition, file=file, container="mp4")
    if isinstance(work, SnapshotWork):
        images = [SnapshotImage(key=k, time=t) for k, t in zip(work.keys, work.times, strict=True)]
        return SnapshotResult(definition=work.definition, bucket=work.bucket, images=images)
    assert isinstance(work, ImageSpriteWork)
    return ImageSpriteResult(
        definition=work.definition,
        bucket=work.bucket,
        width=work.width,
        height=work.height,
        total_count=work.cells,
        keys=work.keys,
        vtt_key=work.vtt_key,
    )


def chain_request(**extra: Any) -> TaskRequest:
    return TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "in", "key": "up/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100030, "id": "wm720"}],
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["25%", "50%"], "input": "wm720"}
                ],
                "image_sprite_task_set": [{"definition": 10}],
                **extra,
            },
        }
    )


@pytest.fixture
def graph_engine(db: DbEngine, tmp_path: Path, clock: FakeClock) -> Engine:
    settings = Settings(data_dir=tmp_path, max_attempts=1, video_preset="veryfast")
    return Engine(session_factory(db), DefaultPlanner(), settings, clock=clock)


def states(engine: Engine, task_id: str) -> list[tuple[SubTaskState, str]]:
    return [(s.state, s.err_code) for s in engine.task_view(task_id).subtasks]


def test_the_second_stage_reads_the_rendition_once_it_is_made(
    graph_engine: Engine, db: DbEngine
) -> None:
    runner = GraphRunner()
    task_id = graph_engine.submit(chain_request())
    [probe] = job_rows(db, task_id)
    assert probe.subtasks == [0, 2]  # the snapshot waits for its upstream, in no job
    drive(graph_engine, runner)
    view = graph_engine.task_view(task_id)
    assert view.state is TaskState.SUCCEEDED
    first, second = runner.media()
    assert sorted(w.index for w in first.works) == [0, 2]  # the source's nodes, fused
    assert first.source.key == "up/clip.mp4"
    [shot] = second.works
    assert isinstance(shot, SnapshotWork)
    rendition = view.subtasks[0].output
    assert rendition is not None
    assert (second.source.bucket, "/" + second.source.key) == ("in", rendition["Path"])
    assert second.media_info == RENDITION  # the rendition's probe, measured by its job
    assert shot.times == [2.0, 4.0]  # percent of the rendition's 8 s
    assert [j.kind for j in runner.calls] == [JobKind.PROBE, JobKind.MEDIA, JobKind.MEDIA]
    assert (view.subtasks[1].spec.upstream, view.subtasks[1].spec.upstream_id) == (0, "wm720")


def test_an_upstream_failure_fails_its_dependents_only(graph_engine: Engine) -> None:
    runner = GraphRunner()
    runner.failing = [0]
    extra = {
        "animated_graphic_task_set": [{"definition": 20000, "input": "wm720"}],
    }
    task_id = graph_engine.submit(chain_request(**extra))
    drive(graph_engine, runner)
    view = graph_engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert states(graph_engine, task_id) == [
        (SubTaskState.FAILED, "FFmpegFailed"),
        (SubTaskState.FAILED, "FailedOperation.UpstreamFailed"),
        (SubTaskState.FAILED, "FailedOperation.UpstreamFailed"),
        (SubTaskState.SUCCEEDED, ""),
    ]
    assert "'wm720' (sub-task 0), failed (FFmpegFailed)" in view.subtasks[1].message
    assert view.err_code == ""  # not a failure of the source
    assert len(runner.media()) == 1


def test_retry_reruns_a_failed_downstream_only(graph_engine: Engine, db: DbEngine) -> None:
    runner = GraphRunner()
    runner.failing = [1]
    task_id = graph_engine.submit(chain_request())
    drive(graph_engine, runner)
    assert graph_engine.task_view(task_id).state is TaskState.FAILED
    made = graph_engine.task_view(task_id).subtasks[0].output
    assert graph_engine.retry_failed(task_id) == [1]
    drive(graph_engine, runner)
    view = graph_engine.task_view(task_id)
    assert view.state is TaskState.SUCCEEDED
    assert view.subtasks[0].output == made  # the rendition was not made again
    probe, media = runner.calls[-2:]
    assert (probe.kind, probe.source.key) == (JobKind.PROBE, "up/" + made["Path"].rsplit("/", 1)[1])
    assert [w.index for w in media.works] == [1]
    assert media.source == probe.source
    assert graph_engine.task_view(task_id).err_code == ""


def test_retry_of_a_failed_upstream_runs_its_dependents_after_it(graph_engine: Engine) -> None:
    runner = GraphRunner()
    runner.failing = [0]
    task_id = graph_engine.submit(chain_request())
    drive(graph_engine, runner)
    assert graph_engine.retry_failed(task_id) == [0, 1]
    drive(graph_engine, runner)
    assert graph_engine.task_view(task_id).state is TaskState.SUCCEEDED
    media = runner.media()
    assert [sorted(w.index for w in job.works) for job in media] == [[0, 2], [0], [1]]
