"""Joining the encoded chunks of one rendition: write the concat script, run the join."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from reelflow.media.chunks.command import concat_list, join_command
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner, RunResult
from reelflow.specs.chunks import ChunkPlan
from reelflow.specs.works import TranscodeWork


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
    try:
        return runner.run(
            join_command(work, script, audio, out),
            timeout=timeout,
            on_progress=on_progress,
            cancel=cancel,
        )
    finally:
        script.unlink(missing_ok=True)


__all__ = ["join"]
