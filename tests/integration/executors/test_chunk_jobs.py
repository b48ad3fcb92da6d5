"""The jobs of a chunked group as a cluster worker runs them: every part goes through the
output bucket (temporary keys under ``.reelflow-chunks/``), as no two jobs share a disk;
the join fetches them, commits the output and deletes them. Real FFmpeg; the bucket is the
in-memory backend, which like S3 has no local paths."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from reelflow.config import Settings
from reelflow.engine.chunking import chunk_groups, split_of
from reelflow.executors.base import JobContext
from reelflow.executors.jobs import JobRuntime
from reelflow.media.chunks import assemble_plan
from reelflow.media.probe import probe
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import PresetLookup
from reelflow.specs.chunks import ChunkedJob, ChunkRole
from reelflow.specs.jobs import JobKind, JobPayload, JobResult
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.works import Work
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from tests.clips import ClipCache

pytestmark = pytest.mark.integration


@dataclass
class Group:
    """A 6 s 320x180 source in bucket ``fin`` (``in/a.mp4``), the worker's runtime, and the
    chunked group of the given transcodes as a cluster plans it (2 s chunks)."""

    bucket: MemoryStorage
    runtime: JobRuntime
    info: MediaInfo
    works: list[Work]
    split: ChunkedJob


def chunked_group(
    tmp_path: Path, clips: ClipCache, ffmpeg_bin: Path, task_id: str, definitions: list[int]
) -> Group:
    clip = clips(duration=6.0, width=320, height=180)
    bucket = MemoryStorage("fin")
    bucket.put_bytes("in/a.mp4", clip.read_bytes())
    runtime = JobRuntime(ffmpeg_bin, StorageRegistry([bucket]), tmp_path / "scratch")
    settings = Settings(executor="celery", chunk_seconds=2.0, ffmpeg_threads=1)
    request = TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "fin", "key": "in/a.mp4"},
            "media_process_task": {"transcode_task_set": [{"definition": d} for d in definitions]},
        }
    )
    info = probe(clip)
    [planned] = DefaultPlanner().plan(resolve_request(request, PresetLookup()), info, "a").jobs
    [group] = chunk_groups(planned.works, info, settings).groups
    return Group(bucket, runtime, info, list(group), split_of(task_id, group, settings))


def test_a_cluster_keeps_the_parts_in_the_output_bucket_until_the_join(
    tmp_path: Path, clips: ClipCache, ffmpeg_bin: Path
) -> None:
    made = chunked_group(tmp_path, clips, ffmpeg_bin, "t-1", [100010])
    bucket, runtime, info, group, split = (
        made.bucket, made.runtime, made.info, made.works, made.split
    )  # fmt: skip
    assert (split.bucket, split.prefix) == ("fin", ".reelflow-chunks/t-1/g0/")

    def run(kind: JobKind, **part: object) -> JobResult:
        job = JobPayload(
            job_id=f"j-{part.get('role')}-{part.get('chunk', '')}",
            task_id="t-1",
            kind=kind,
            source=TaskSource(type="bucket", bucket="fin", key="in/a.mp4"),
            media_info=info,
            works=group,
            video_preset="veryfast",
            ffmpeg_threads=1,
            chunked=split.model_copy(update=part),
        )
        result = runtime(job, JobContext(lambda _: None, threading.Event()))
        assert result.ok, result
        return result

    # The split job returns its boundaries; the engine assembles the plan from them.
    found = run(JobKind.CHUNK).split_found
    assert found is not None and [b.k for b in found.boundaries] == [1, 2]
    plan = assemble_plan([found], split.chunk_seconds)
    # Two split jobs of one boundary each find the same plan.
    ranges = [
        run(JobKind.CHUNK, first_boundary=1, last_boundary=1),
        run(JobKind.CHUNK, first_boundary=2),
    ]
    halves = [r.split_found for r in ranges if r.split_found is not None]
    assert [[b.k for b in half.boundaries] for half in halves] == [[1], [2]]
    assert assemble_plan(halves, split.chunk_seconds) == plan
    assert plan is not None and len(plan.chunks) == 3
    [work] = group
    for chunk in plan.chunks:
        run(JobKind.CHUNK, role=ChunkRole.VIDEO, chunk=chunk, split=1)
    run(JobKind.CHUNK, role=ChunkRole.AUDIO, split=1)
    parts = sorted(o.key for o in bucket.list(".reelflow-chunks/"))
    assert parts == [f".reelflow-chunks/t-1/g0/audio-w{work.index}.m4a"] + [
        f".reelflow-chunks/t-1/g0/chunk{c.index}-w{work.index}.mp4" for c in plan.chunks
    ]
    run(JobKind.JOIN, role=ChunkRole.JOIN, plan=plan, split=1)
    assert bucket.list(".reelflow-chunks/") == []  # the join deleted every part
    out = tmp_path / "out.mp4"
    out.write_bytes(bucket.read_bytes(work.key))
    with av.open(str(out)) as container:
        frames = sum(1 for p in container.demux(container.streams.video[0]) if p.pts is not None)
        assert container.streams.audio
    assert frames == 150


def test_renditions_with_the_same_audio_share_one_encode(
    tmp_path: Path, clips: ClipCache, ffmpeg_bin: Path
) -> None:
    # 100010 and 100020: AAC 64 kbit/s 44.1 kHz stereo; 100030: AAC 128 kbit/s.
    made = chunked_group(tmp_path, clips, ffmpeg_bin, "t-2", [100010, 100020, 100030])
    bucket, runtime, info, group, split = (
        made.bucket, made.runtime, made.info, made.works, made.split
    )  # fmt: skip
    assert len(group) == 3
    runs: list[list[str]] = []
    run_ffmpeg = runtime.runner.run

    def counted(args: list[str], **kwargs: object) -> object:
        runs.append(args)
        return run_ffmpeg(args, **kwargs)  # type: ignore[arg-type]

    runtime.runner.run = counted  # type: ignore[method-assign]
    job = JobPayload(
        job_id="j-audio",
        task_id="t-2",
        kind=JobKind.CHUNK,
        source=TaskSource(type="bucket", bucket="fin", key="in/a.mp4"),
        media_info=info,
        works=group,
        ffmpeg_threads=1,
        chunked=split.model_copy(update={"role": ChunkRole.AUDIO, "split": 1}),
    )
    assert runtime(job, JobContext(lambda _: None, threading.Event())).ok
    assert len(runs) == 2  # one encode per distinct audio, not per rendition
    parts = {
        w.index: bucket.read_bytes(f".reelflow-chunks/t-2/g0/audio-w{w.index}.m4a") for w in group
    }
    by_definition = {w.definition: parts[w.index] for w in group}
    assert by_definition[100010] == by_definition[100020]
    for definition, kbps in [(100010, 64), (100030, 128)]:
        path = tmp_path / f"a{definition}.m4a"
        path.write_bytes(by_definition[definition])
        [audio] = probe(path).audio
        assert audio.codec == "aac" and audio.channels == 2 and audio.sample_rate == 44100
        assert audio.duration == pytest.approx(6.0, abs=0.05)
        assert audio.bitrate == pytest.approx(kbps * 1000, rel=0.2)
