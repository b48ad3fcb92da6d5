"""Between two stages of a task graph on one machine, the rendition is handed over through
scratch: the job that made it and stored it in a bucket whose objects are not local files
keeps its copy in the machine's source cache, so the next stage's jobs do not fetch it
back. Real FFmpeg; the bucket is the in-memory backend, which like S3 has no local paths
and counts what is read from it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from reelflow.executors.base import JobContext
from reelflow.executors.jobs import JobRuntime
from reelflow.media.probe import probe
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import PresetLookup
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.works import TranscodeWork
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from tests.clips import ClipCache

pytestmark = pytest.mark.integration


class CountingStorage(MemoryStorage):
    """Objects that are not local files; counts the reads of each key."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reads: dict[str, int] = {}

    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().open_read(key, start, end)


def chain(reader_input: str | None) -> TaskRequest:
    """A 360p rendition ``r`` and a screenshot that reads ``reader_input`` (None: the source)."""
    shot: dict[str, object] = {"definition": 10, "ext_time_offset_set": ["50%"]}
    if reader_input:
        shot["input"] = reader_input
    return TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "fin", "key": "in/a.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010, "id": "r"}],
                "snapshot_by_time_offset_task_set": [shot],
            },
        }
    )


def first_stage(
    runtime: JobRuntime, request: TaskRequest, clip: Path
) -> tuple[TranscodeWork, JobPayload]:
    """Run the transcode's job; returns its work and the payload that ran."""
    specs = resolve_request(request, PresetLookup())
    info = probe(clip)
    plan = DefaultPlanner().plan([specs[0]], info, "a")
    [planned] = plan.jobs
    job = JobPayload(
        job_id="j-1",
        task_id="t-1",
        kind=JobKind.MEDIA,
        source=TaskSource(type="bucket", bucket="fin", key="in/a.mp4"),
        media_info=info,
        works=planned.works,
    )
    result = runtime(job, JobContext(lambda _: None, threading.Event()))
    assert result.ok, result
    [work] = planned.works
    assert isinstance(work, TranscodeWork)
    return work, job


@pytest.mark.parametrize("read", [True, False], ids=["read-by-a-stage", "read-by-none"])
def test_the_next_stage_on_this_machine_reads_the_rendition_from_scratch(
    tmp_path: Path, clips: ClipCache, ffmpeg_bin: Path, read: bool
) -> None:
    clip = clips(duration=1.0, width=1280, height=720)
    bucket = CountingStorage("fin")
    bucket.put_bytes("in/a.mp4", clip.read_bytes())
    runtime = JobRuntime(ffmpeg_bin, StorageRegistry([bucket]), tmp_path / "scratch")
    work, _ = first_stage(runtime, chain("r" if read else None), clip)
    assert work.read is read
    assert bucket.stat(work.key).size > 0

    # The next stage's probe of the rendition (as the engine plans it).
    probe_job = JobPayload(
        job_id="j-2",
        task_id="t-1",
        kind=JobKind.PROBE,
        source=TaskSource(type="bucket", bucket="fin", key=work.key),
    )
    result = runtime(probe_job, JobContext(lambda _: None, threading.Event()))
    assert result.ok and result.media_info is not None
    video = result.media_info.primary_video
    assert video is not None and video.height == 360
    # Kept by the stage that made it: not fetched back. Otherwise fetched once.
    assert bucket.reads.get(work.key, 0) == (0 if read else 1)


def test_a_rendition_replaced_in_its_bucket_is_fetched_again(
    tmp_path: Path, clips: ClipCache, ffmpeg_bin: Path
) -> None:
    clip = clips(duration=1.0, width=1280, height=720)
    bucket = CountingStorage("fin")
    bucket.put_bytes("in/a.mp4", clip.read_bytes())
    runtime = JobRuntime(ffmpeg_bin, StorageRegistry([bucket]), tmp_path / "scratch")
    work, _ = first_stage(runtime, chain("r"), clip)
    bucket.put_bytes(work.key, clip.read_bytes())  # a new version: the kept copy is stale
    probe_job = JobPayload(
        job_id="j-2",
        task_id="t-1",
        kind=JobKind.PROBE,
        source=TaskSource(type="bucket", bucket="fin", key=work.key),
    )
    result = runtime(probe_job, JobContext(lambda _: None, threading.Event()))
    assert result.media_info is not None and result.media_info.primary_video is not None
    assert result.media_info.primary_video.height == 720  # the new version, fetched
    assert bucket.reads[work.key] == 1
