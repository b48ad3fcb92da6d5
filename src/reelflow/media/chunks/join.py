"""Joining the encoded chunks of one rendition: write the concat script, run the join."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import av.error

from reelflow.errors import InvalidMedia
from reelflow.media.chunks.command import concat_list, join_command
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner, RunResult
from reelflow.specs.chunks import ChunkPlan
from reelflow.specs.works import TranscodeWork


def audio_start(path: Path) -> float:
    """When the first sample of the audio file ``path`` plays (seconds; 0 when it starts
    with the video), read from its stream's start time.

    Raises:
        InvalidMedia: not a readable audio file.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            if stream.start_time is None or stream.time_base is None:
                return 0.0
            return max(0.0, float(stream.start_time * stream.time_base))
    except (av.error.FFmpegError, IndexError) as exc:
        raise InvalidMedia(f"{path.name}: cannot read the encoded audio: {exc}") from exc


def join(
    runner: FFmpegRunner,
    work: TranscodeWork,
    plan: ChunkPlan,
    chunks: Sequence[Path],
    audio: Path | None,
    out: Path,
    *,
    timeout: float,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Copy the chunk files (in plan order) and the whole-source ``audio`` into ``out``.

    The concat script is written beside ``out`` (``<out>.ffconcat``) and removed after.

    Raises:
        FFmpegFailed, FFmpegTimeout, JobCancelled: from the run (``FFmpegRunner.run``).
    """
    script = out.with_name(out.name + ".ffconcat")
    script.write_text(concat_list(plan, chunks), encoding="utf-8")
    start = audio_start(audio) if audio is not None else 0.0
    try:
        return runner.run(
            join_command(work, script, audio, out, audio_start=start),
            timeout=timeout,
            on_progress=on_progress,
            cancel=cancel,
        )
    finally:
        script.unlink(missing_ok=True)


__all__ = ["audio_start", "join"]
