"""Running the jobs of a chunked ladder (HLS, DASH, CMAF) (docs/chunking.md, "Ladders"): the same
SPLIT -> VIDEO chunks + AUDIO -> JOIN nodes as a chunked rendition, other commands.

- SPLIT: ``plan_ladder_chunks`` (borders on segment borders: no scan, no scene cuts);
- VIDEO: one chunk of every video rung from one decode, its segments under their final
  numbers and times; the chunk's folder (segments, playlists, init) kept as one part (an
  uncompressed tar: one name per chunk, whatever its segment count);
- AUDIO: the ladder's audio renditions once over the whole source, kept the same way;
- JOIN: the parts unpacked, the package published from the chunks' segment lists
  (``publish_chunked_ladder``: moved, never re-muxed), checked by the stream checker and
  committed as the one-shot ladder's is (``executors.ladders``).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.error

from reelflow.errors import FFmpegFailed, MediaError, SpecError, StorageUnavailable
from reelflow.executors.base import JobContext
from reelflow.executors.ladders import check_error, check_package, commit_package
from reelflow.media.ladder.chunked import (
    ladder_audio_command,
    ladder_chunk_command,
    plan_ladder_chunks,
    publish_chunked_ladder,
)
from reelflow.media.ladder.command import LadderCommand
from reelflow.media.ladder.hls import read_segments
from reelflow.media.progress import Progress
from reelflow.specs.chunks import Chunk, ChunkedJob, ChunkRole, ladder_part_name
from reelflow.specs.jobs import JobPayload, JobResult, SubTaskOutcome
from reelflow.specs.works import LadderWork

if TYPE_CHECKING:
    from reelflow.executors.chunks import Parts
    from reelflow.executors.jobs import JobRuntime


def _pack(folder: Path, out: Path) -> Path:
    with tarfile.open(out, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.add(path, arcname=path.name)
    return out


def _unpack(archive: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _check_frames(command: LadderCommand, chunk: Chunk) -> None:
    """Every rung's segments of the chunk hold exactly its planned frames (else a frame
    would be lost or doubled at a border). The last chunk runs to the source's end, as the
    one-shot ladder does: its count is the source's, not the probe's rounding."""
    for stream in command.streams:
        made = 0
        for ref in read_segments(stream.playlist):
            # an fMP4 segment (HLS fMP4, DASH) is read behind its init segment
            data = (ref.init.read() if ref.init is not None else b"") + ref.media.read()
            try:
                with av.open(io.BytesIO(data), mode="r") as container:
                    video = container.streams.video[0]
                    made += sum(1 for p in container.demux(video) if p.pts is not None)
            except (av.error.FFmpegError, IndexError) as exc:
                raise FFmpegFailed(f"segment {ref.media.path.name} is not readable: {exc}") from exc
        if made != chunk.frames and (chunk.cut_end or not made):
            raise FFmpegFailed(
                f"chunk {chunk.index} of video rung {stream.index} made {made} frames, "
                f"planned {chunk.frames}"
            )


class LadderChunks:
    """``LadderChunks(runtime)(job, ctx, src, work, part, work_dir)``: one part of a
    chunked ladder."""

    def __init__(self, runtime: JobRuntime) -> None:
        self._runtime = runtime

    def _parts(self, part: ChunkedJob) -> Parts:
        from reelflow.executors.chunks import Parts

        return Parts(self._runtime, part)

    def __call__(
        self, job: JobPayload, ctx: JobContext, src: str, work: LadderWork, part: ChunkedJob,
        work_dir: Path,
    ) -> JobResult:  # fmt: skip
        info = job.media_info
        assert info is not None
        if part.role is ChunkRole.SPLIT:
            plan = plan_ladder_chunks(info.duration or 0.0, work.ladder, part.chunk_seconds)
            chunk_plan = plan if len(plan.chunks) >= 2 else None
            return JobResult(job_id=job.job_id, ok=True, chunk_plan=chunk_plan)
        if part.role is ChunkRole.JOIN:
            return self._join(job, ctx, work, part, work_dir)
        if part.role is ChunkRole.VIDEO:
            assert part.chunk is not None
            command: LadderCommand | None = self._chunk(
                src, job, work, part.chunk, work_dir / f"ladder{part.chunk.index}"
            )
            name = ladder_part_name(part.chunk.index, work.index)
        else:
            command = ladder_audio_command(
                src, info, work.ladder, work_dir / "ladder-audio",
                video_preset=job.video_preset, threads=job.ffmpeg_threads,
            )  # fmt: skip
            name = ladder_part_name(None, work.index)
        if command is not None:
            command.raw_dir.mkdir(parents=True, exist_ok=True)
            duration = command.duration

            def report(p: Progress) -> None:
                ctx.progress(95.0 * p.fraction_of(duration))

            self._runtime.runner.run(
                command.args, timeout=job.timeout, on_progress=report, cancel=ctx.cancel
            )
            if part.chunk is not None:
                _check_frames(command, part.chunk)
            self._parts(part).put(_pack(command.raw_dir, work_dir / name))
        ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True)

    def _chunk(
        self, src: str, job: JobPayload, work: LadderWork, chunk: Chunk, raw_dir: Path
    ) -> LadderCommand:
        assert job.media_info is not None
        return ladder_chunk_command(
            src, job.media_info, work.ladder, chunk, raw_dir,
            video_preset=job.video_preset, threads=job.ffmpeg_threads,
        )  # fmt: skip

    def _join(
        self, job: JobPayload, ctx: JobContext, work: LadderWork, part: ChunkedJob,
        work_dir: Path,
    ) -> JobResult:  # fmt: skip
        plan = part.plan
        info = job.media_info
        assert plan is not None and info is not None
        parts = self._parts(part)
        names: list[str] = []
        chunks: list[LadderCommand] = []
        for chunk in plan.chunks:
            name = ladder_part_name(chunk.index, work.index)
            names.append(name)
            folder = _unpack(parts.get(name, work_dir), work_dir / f"ladder{chunk.index}")
            chunks.append(self._chunk("", job, work, chunk, folder))
        audio = None
        if work.ladder.audio and info.has_audio:
            names.append(ladder_part_name(None, work.index))
            folder = _unpack(parts.get(names[-1], work_dir), work_dir / "ladder-audio")
            audio = ladder_audio_command("", info, work.ladder, folder)
        out_dir = work_dir / f"ladder{work.index}-out"
        outcome: SubTaskOutcome
        try:
            package = publish_chunked_ladder(chunks, audio, work.ladder, out_dir, work.names)
            summary = check_package(package, out_dir)
            error = check_error(summary)
            if error is not None:
                raise error
        except (MediaError, SpecError) as exc:
            outcome = SubTaskOutcome(
                index=work.index, ok=False, error_code=exc.code, message=exc.message
            )
        else:
            try:
                outcome = commit_package(
                    work, package, out_dir, summary, self._runtime.storages.get,
                    patience=self._runtime.outage_patience,
                )  # fmt: skip
            except StorageUnavailable as exc:
                return JobResult(
                    job_id=job.job_id, ok=False, error_code=exc.code, message=exc.message,
                    retryable=True,
                )  # fmt: skip
        parts.delete(names)
        ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True, subtasks=[outcome])


__all__ = ["LadderChunks"]
