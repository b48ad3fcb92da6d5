"""Running the jobs of a chunked group (``JobKind.CHUNK`` and ``JOIN``; docs/chunking.md).

- SPLIT: scan the source's packets (frame and keyframe times), look for scene cuts in a
  window around each boundary's target (``scdet`` on a small picture), plan the chunks;
- PROBE: measure one chunk's difficulty (a small constant-quality encode: its bits per
  second), from which the engine shares a bitrate out over the chunks;
- VIDEO: encode one chunk of every rendition of the group from one decode (at its share of
  the bitrate; two passes for H.264 at a bitrate when asked), check it made exactly its
  planned frames, store it as a part;
- AUDIO: encode each rendition's audio once, over the whole source, store it as a part;
- JOIN: fetch the parts, join each rendition by stream copy with its audio, score the
  joined renditions that asked for it against the source (one separate FFmpeg run), commit
  each like any rendition (its scores reported as an unchunked one's), delete the parts.

Parts live in this machine's scratch folder (``<scratch>/chunks/<prefix>``: every local
worker shares it) or, in a cluster, under temporary keys of the output bucket.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.error

from reelflow.engine.chunking import PARTS_FOLDER
from reelflow.errors import FFmpegFailed, ReelflowError, StorageUnavailable
from reelflow.executors.base import JobContext
from reelflow.executors.ladder_chunks import LadderChunks
from reelflow.executors.outputs import commit_work
from reelflow.executors.quality import Scored, ScoringPlan, score_works, scored, scored_output
from reelflow.media.chunks import (
    audio_command,
    bits_per_second,
    chunk_count,
    find_boundaries,
    fused_chunk_command,
    join,
    output_frame_times,
    probe_command,
    scan_frames,
    scene_command,
    scene_times,
    should_chunk,
)
from reelflow.media.command import WorkFiles
from reelflow.media.progress import Progress
from reelflow.media.quality import Rendition, build_quality_command
from reelflow.specs.chunks import ChunkedJob, ChunkRole, SplitFound, part_name
from reelflow.specs.jobs import JobPayload, JobResult, SubTaskOutcome
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.works import LadderWork, TranscodeWork

if TYPE_CHECKING:
    from reelflow.executors.jobs import JobRuntime

log = logging.getLogger(__name__)
SCRATCH_FOLDER = "chunks"
# Seconds either side of a boundary's target searched for a scene cut (at most; a quarter
# chunk for short chunks): the split decodes 2 x this per boundary, so for 60 s chunks it
# reads about 7 % of the source (small pictures), not all of it.
SCENE_REACH = 2.0


class Parts:
    """Where a group's parts are kept: a scratch folder, or temporary keys of a bucket."""

    def __init__(self, runtime: JobRuntime, part: ChunkedJob) -> None:
        self._runtime = runtime
        self._part = part
        # In the shared scratch root, not this process's folder: a part outlives its
        # process (a restarted server joins the chunks the dead one made).
        self._folder = runtime.scratch.root / SCRATCH_FOLDER / part.prefix

    def put(self, path: Path) -> None:
        """Keep ``path`` (a file of the job's work folder) as the part of its name."""
        if not self._part.bucket:
            self._folder.mkdir(parents=True, exist_ok=True)
            os.replace(path, self._folder / path.name)
            return
        storage = self._runtime.storages.get(self._part.bucket)
        storage.put_file(self._part.prefix + path.name, path)

    def get(self, name: str, work_dir: Path) -> Path:
        """A local file of the part ``name`` (fetched into ``work_dir`` from a bucket)."""
        if not self._part.bucket:
            path = self._folder / name
            if not path.exists():
                raise FFmpegFailed(f"the part {name} of this chunked output is missing")
            return path
        storage = self._runtime.storages.get(self._part.bucket)
        key = self._part.prefix + name
        local = storage.local_path(key)
        if local is not None:
            return local
        return storage.fetch_to(key, work_dir / name, patience=self._runtime.outage_patience)

    def delete(self, names: list[str]) -> None:
        """Remove the parts (after the join); a part that cannot be removed is logged."""
        if not self._part.bucket:
            shutil.rmtree(self._folder, ignore_errors=True)
            return
        storage = self._runtime.storages.get(self._part.bucket)
        for name in names:
            try:
                storage.delete(self._part.prefix + name)
            except ReelflowError as exc:
                log.warning("part %s%s not deleted: %s", self._part.prefix, name, exc)


def remove_parts(runtime: JobRuntime, bucket: str, prefix: str) -> None:
    """Remove every part under ``prefix`` (a group generation's: its scratch folder, or its
    temporary keys in ``bucket``); idempotent. The scheduler's pass over the leftovers of
    failed and cancelled groups calls it (``reelflow.engine.leftovers``)."""
    if not prefix or ".." in prefix or (not bucket and "/" in prefix):
        raise ValueError(f"not a chunk parts prefix: {prefix!r}")
    if not bucket:
        shutil.rmtree(runtime.scratch.root / SCRATCH_FOLDER / prefix, ignore_errors=True)
        return
    if not prefix.startswith(PARTS_FOLDER + "/") or not prefix.endswith("/"):
        raise ValueError(f"not a chunk parts prefix: {prefix!r}")
    storage = runtime.storages.get(bucket)
    while True:
        found = storage.list(prefix, limit=1000)
        for info in found:
            storage.delete(info.key)
        if len(found) < 1000:
            return


def _progress(
    ctx: JobContext, done: float, share: float, duration: float
) -> Callable[[Progress], None]:
    def report(p: Progress) -> None:
        ctx.progress(95.0 * (done + share * p.fraction_of(duration)))

    return report


def _frames(path: Path) -> int:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.pts is not None)
    except (av.error.FFmpegError, IndexError) as exc:
        raise FFmpegFailed(f"the chunk file {path.name} is not readable: {exc}") from exc


class ChunkJobs:
    """``ChunkJobs(runtime)(job, ctx, src)``: runs one part of a chunked group."""

    def __init__(self, runtime: JobRuntime) -> None:
        self._runtime = runtime

    def __call__(self, job: JobPayload, ctx: JobContext, src: str, work_dir: Path) -> JobResult:
        part = job.chunked
        if part is None:
            raise FFmpegFailed("a chunk job without its part of the group")
        ladders = [w for w in job.works if isinstance(w, LadderWork)]
        if ladders:
            return LadderChunks(self._runtime)(job, ctx, src, ladders[0], part, work_dir)
        works = [w for w in job.works if isinstance(w, TranscodeWork)]
        if part.role is ChunkRole.SPLIT:
            found = self._split(job, ctx, src, works, part, work_dir)
            return JobResult(job_id=job.job_id, ok=True, split_found=found)
        if part.role is ChunkRole.PROBE:
            difficulty, cost = self._probe(job, ctx, src, works, part, work_dir)
            ctx.progress(100.0)
            return JobResult(job_id=job.job_id, ok=True, difficulty=difficulty, cost=cost)
        if part.role is ChunkRole.VIDEO:
            self._video(job, ctx, src, works, part, work_dir)
        elif part.role is ChunkRole.AUDIO:
            self._audio(job, ctx, src, works, part, work_dir)
        else:
            return self._join(job, ctx, works, part, work_dir, src)
        ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True)

    def _split(
        self, job: JobPayload, ctx: JobContext, src: str, works: list[TranscodeWork],
        part: ChunkedJob, work_dir: Path,
    ) -> SplitFound:  # fmt: skip
        """The boundaries of this job's range (``part.first_boundary`` ..
        ``last_boundary``): every split job of the group scans the packets (demux only) and
        computes the chunk count from that scan, so they agree; a range past the count
        finds nothing."""
        scan = scan_frames(src)
        fps = works[0].fps
        frames = output_frame_times(scan.end, fps) if fps else list(scan.times)
        seconds = part.chunk_seconds
        if not should_chunk(scan.end, seconds):
            return SplitFound(count=0, end=scan.end)
        count = chunk_count(scan.end, seconds)
        first = max(1, part.first_boundary)
        last = min(count - 1, part.last_boundary or count - 1)
        reach = seconds / 4
        look = min(reach, SCENE_REACH)
        scenes: list[float] = []
        for n, k in enumerate(range(first, last + 1)):
            target = k * scan.end / count
            printed = work_dir / f"scenes{k}.txt"
            args = scene_command(src, target - look, 2 * look, printed, threads=job.ffmpeg_threads)
            self._runtime.runner.run(args, timeout=job.timeout, cancel=ctx.cancel)
            if printed.exists():
                scenes += scene_times(printed.read_text(encoding="utf-8"), scan.offset)
            ctx.progress(95.0 * (n + 1) / (last - first + 1))
        return find_boundaries(
            frames, scan.end, seconds, keyframes=scan.keyframes, scenes=scenes, window=reach,
            first=first, last=last,
        )  # fmt: skip

    def _probe(
        self, job: JobPayload, ctx: JobContext, src: str, works: list[TranscodeWork],
        part: ChunkedJob, work_dir: Path,
    ) -> tuple[float, float]:  # fmt: skip
        """The chunk's difficulty (the bits per second of its probe encode) and its cost
        (the seconds the probe ran)."""
        chunk = part.chunk
        assert chunk is not None and job.media_info is not None
        out = work_dir / f"probe{chunk.index}.h264"
        args = probe_command(
            src, job.media_info, chunk, works[0].fps, out, threads=job.ffmpeg_threads
        )
        report = _progress(ctx, 0.0, 1.0, chunk.duration)
        run = self._runtime.runner.run(
            args, timeout=job.timeout, on_progress=report, cancel=ctx.cancel
        )
        if not out.exists():
            raise FFmpegFailed(f"the difficulty probe of chunk {chunk.index} made no stream")
        return bits_per_second(out.stat().st_size, chunk.duration), run.elapsed

    def _video(
        self, job: JobPayload, ctx: JobContext, src: str, works: list[TranscodeWork],
        part: ChunkedJob, work_dir: Path,
    ) -> None:  # fmt: skip
        chunk = part.chunk
        assert chunk is not None and job.media_info is not None
        outs = [work_dir / part_name(chunk.index, work.index) for work in works]
        command = fused_chunk_command(
            src,
            job.media_info,
            works,
            chunk,
            outs,
            work_dir=work_dir,
            video_preset=job.video_preset,
            threads=job.ffmpeg_threads,
            font_file=self._runtime.font,
            first_pass=part.first_pass,
            rate_factor=part.rate_factor,
        )
        for path, data in command.files.items():
            path.write_bytes(data)
        share = 1.0 / len(command.runs)
        for n, args in enumerate(command.runs):
            report = _progress(ctx, n * share, share, command.duration)
            self._runtime.runner.run(
                args, timeout=job.timeout, on_progress=report, cancel=ctx.cancel
            )
        parts = Parts(self._runtime, part)
        for out in outs:
            # Exactly the planned frames, or the join would lose or double some.
            made = _frames(out)
            if made != chunk.frames:
                raise FFmpegFailed(
                    f"chunk {chunk.index} of rendition {out.name} made {made} frames, "
                    f"planned {chunk.frames}"
                )
            parts.put(out)

    def _audio(
        self, job: JobPayload, ctx: JobContext, src: str, works: list[TranscodeWork],
        part: ChunkedJob, work_dir: Path,
    ) -> None:  # fmt: skip
        assert job.media_info is not None
        parts = Parts(self._runtime, part)
        # Renditions whose audio commands differ only in their output file (the same
        # codec, bitrate, channels and sample rate: 100010 and 100020 are both AAC at 64
        # kbit/s) share one encode, copied to each one's part.
        groups: dict[tuple[str, ...], list[Path]] = {}
        for work in works:
            out = work_dir / part_name(None, work.index)
            args = audio_command(src, job.media_info, work, out, threads=job.ffmpeg_threads)
            if args is not None:
                groups.setdefault(tuple(args[:-1]), []).append(out)
        for n, (same, outs) in enumerate(groups.items()):
            self._runtime.runner.run([*same, str(outs[0])], timeout=job.timeout, cancel=ctx.cancel)
            for out in outs[1:]:
                shutil.copyfile(outs[0], out)
            for out in outs:
                parts.put(out)
            ctx.progress(95.0 * (n + 1) / len(groups))

    def _join(
        self, job: JobPayload, ctx: JobContext, works: list[TranscodeWork], part: ChunkedJob,
        work_dir: Path, src: str,
    ) -> JobResult:  # fmt: skip
        plan = part.plan
        assert plan is not None and job.media_info is not None
        parts = Parts(self._runtime, part)
        names: list[str] = []
        outs: list[Path] = []
        # The joins (stream copy) are quick; scoring the joined outputs is not.
        to_score = [w for w in works if scored(w)] if src else []
        join_share = 0.2 if to_score else 1.0
        for n, work in enumerate(works):
            chunk_names = [part_name(chunk.index, work.index) for chunk in plan.chunks]
            files = [parts.get(name, work_dir) for name in chunk_names]
            names += chunk_names
            has_audio = audio_command("", job.media_info, work, work_dir / "-") is not None
            audio = None
            if has_audio:
                names.append(part_name(None, work.index))
                audio = parts.get(names[-1], work_dir)
            out = work_dir / f"w{work.index}.{work.template.format}"
            share = join_share / len(works)
            join(
                self._runtime.runner,
                work,
                plan,
                files,
                audio,
                out,
                timeout=job.timeout,
                on_progress=_progress(ctx, n * share, share, plan.end),
                cancel=ctx.cancel,
            )
            outs.append(out)
        by_index = {w.index: out for w, out in zip(works, outs, strict=True)}
        scores = self._score(job, ctx, src, to_score, by_index, work_dir)
        outcomes: list[SubTaskOutcome] = []
        for work, out in zip(works, outs, strict=True):
            storage_for = self._runtime.storages.get
            patience = self._runtime.outage_patience
            try:
                outcome = commit_work(work, WorkFiles(main=out), storage_for, patience=patience)
            except StorageUnavailable as exc:
                return JobResult(
                    job_id=job.job_id, ok=False, error_code=exc.code, message=exc.message,
                    retryable=True, subtasks=outcomes,
                )  # fmt: skip
            found = scores.get(work.index)
            if found and outcome.ok:
                # Reported as for an unchunked rendition: its pictures stored next to it.
                output = scored_output(work, outcome.output, found, storage_for, patience=patience)
                outcome = outcome.model_copy(update={"output": output})
            outcomes.append(outcome)
        parts.delete(names)
        ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)

    def _score(
        self, job: JobPayload, ctx: JobContext, src: str, works: list[TranscodeWork],
        outs: dict[int, Path], work_dir: Path,
    ) -> dict[int, list[Scored]]:  # fmt: skip
        """The joined outputs that asked for scores, scored against the source in one
        separate FFmpeg run (``build_quality_command``: the source decoded once for all of
        them), their worst moments drawn. A score is an addition: when scoring fails the
        outputs are delivered without it (logged), as an unchunked rendition's are."""
        if not works or job.media_info is None:
            return {}
        folder = work_dir / "quality"
        frames = folder / "frames"  # the scored frames captured (executors/quality.py)
        frames.mkdir(parents=True, exist_ok=True)
        items: list[tuple[int, Rendition, VideoRendition | None]] = [
            (w.index, Rendition(outs[w.index], w.width, w.height, w.fps, w.start, w.end), None)
            for w in works
        ]
        command = build_quality_command(src, job.media_info, [r for _, r, _ in items], folder,
                                        capture=frames)  # fmt: skip
        started = time.monotonic()
        try:
            self._runtime.runner.run(
                command.args,
                timeout=job.timeout,
                on_progress=_progress(ctx, 0.2, 0.8, command.duration),
                cancel=ctx.cancel,
            )
        except FFmpegFailed as exc:
            log.warning("job %s: joined outputs left without a quality score: %s",
                        job.job_id, exc.message)  # fmt: skip
            return {}
        plan = ScoringPlan(command=command, items=items, folder=folder)
        left = job.timeout - (time.monotonic() - started)
        return score_works(self._runtime.runner, job, src, plan, timeout=left, cancel=ctx.cancel)


__all__ = ["ChunkJobs", "Parts", "remove_parts"]
