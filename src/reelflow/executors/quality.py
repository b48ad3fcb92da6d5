"""The quality step of a transcode job (issue 18): score the renditions that asked for it,
draw each one's worst moment, and store those two pictures next to the rendition.

A step of the job, not a stage of the task graph: the source and the renditions are on this
machine's scratch disk right after the encode, and one FFmpeg process decodes the source
once for all of them (a stage per rendition would fetch, probe and decode the source once
per rendition; docs/quality.md has the measurement). A score is an addition to a rendition:
when FFmpeg cannot compute it, or a picture cannot be drawn or stored, the rendition is
delivered without it (logged), never failed for it. A cancel stops the job as usual.

The worst moment's pictures are drawn here, not on demand by the console: only here are
both files at hand in every topology (a console in a cluster would fetch the whole source
from the store, and a URL source again through the egress policy), the pictures show the
source as it was scored even if it is replaced or deleted later, and drawing them costs two
seeks and two decoded frames per rendition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reelflow.errors import MediaError, StorageError
from reelflow.executors.outputs import Committer
from reelflow.media.command import Command
from reelflow.media.progress import Progress
from reelflow.media.quality import Rendition, extract_frames, score_renditions
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.jobs import JobPayload
from reelflow.specs.quality import QualityScore
from reelflow.specs.works import TranscodeWork, Work
from reelflow.storage.base import Storage

log = logging.getLogger(__name__)

# The pictures' keys: the rendition's key without its extension, plus these.
FRAME_SUFFIX = ".worst.jpg"
SOURCE_FRAME_SUFFIX = ".worst-source.jpg"


def scored(work: object) -> bool:
    """A video rendition whose task asked for its quality score."""
    return isinstance(work, TranscodeWork) and work.quality and work.width > 0


@dataclass(frozen=True, slots=True)
class Scored:
    """A rendition's score and, when they could be drawn, its worst moment's pictures
    (rendition, source) on the scratch disk."""

    score: QualityScore
    pictures: tuple[Path, Path] | None


def score_works(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    command: Command,
    work_dir: Path,
    *,
    timeout: float,
    cancel: threading.Event,
    on_progress: Callable[[float], None],
) -> dict[int, Scored]:
    """The scores of the job's renditions that asked for one, by work index, with their
    worst moments drawn. ``on_progress`` gets the fraction of the scoring done (0..1)."""
    info = job.media_info
    works = [w for w in job.works if scored(w) and command.outputs[w.index].main]
    if info is None or not works or timeout <= 0:
        return {}
    renditions: list[Rendition] = []
    for work in works:
        path = command.outputs[work.index].main
        assert isinstance(work, TranscodeWork) and path is not None
        renditions.append(Rendition(path, work.width, work.height, work.fps, work.start, work.end))
    out = work_dir / "quality"

    def progress(p: Progress) -> None:
        on_progress(p.fraction_of(command.duration))

    try:
        scores = score_renditions(
            runner,
            src,
            info,
            renditions,
            out,
            timeout=timeout,
            cancel=cancel,
            on_progress=progress,
        )
    except MediaError as exc:
        log.warning("job %s: renditions left without a quality score: %s", job.job_id, exc.message)
        return {}
    found: dict[int, Scored] = {}
    for i, (work, rendition, score) in enumerate(zip(works, renditions, scores, strict=True)):
        pictures = None
        if score.worst is not None:
            pair = (out / f"worst{i}.jpg", out / f"worst{i}-source.jpg")
            try:
                pictures = extract_frames(
                    runner, src, info, rendition, score.worst.time, pair,
                    timeout=timeout, cancel=cancel,
                )  # fmt: skip
            except MediaError as exc:
                log.warning("job %s: worst moment of rendition %s not drawn: %s",
                            job.job_id, work.index, exc.message)  # fmt: skip
        found[work.index] = Scored(score, pictures)
    return found


def picture_keys(key: str) -> tuple[str, str]:
    """The keys of a rendition's worst-moment pictures, next to it: ``out/a_720.mp4`` ->
    ``out/a_720.worst.jpg``, ``out/a_720.worst-source.jpg``."""
    path = PurePosixPath(key)
    stem = str(path.with_suffix("")) if path.suffix else key
    return stem + FRAME_SUFFIX, stem + SOURCE_FRAME_SUFFIX


def store_pictures(
    work: Work,
    found: Scored,
    storage_for: Callable[[str], Storage],
    *,
    patience: float,
) -> QualityScore:
    """``found``'s score, with the keys of its pictures once they are stored in the
    rendition's bucket (both or neither); without them when they cannot be stored."""
    score = found.score
    if found.pictures is None or score.worst is None or not isinstance(work, TranscodeWork):
        return score
    keys = picture_keys(work.key)
    committer: Committer | None = None
    try:
        committer = Committer(storage_for(work.bucket), patience)
        for key, path in zip(keys, found.pictures, strict=True):
            committer.put(key, path)
    except StorageError as exc:
        if committer is not None:
            committer.rollback()
        log.warning("worst moment of %s not stored: %s", work.key, exc.message)
        return score
    worst = score.worst.model_copy(
        update={"bucket": work.bucket, "frame_key": keys[0], "source_key": keys[1]}
    )
    return score.model_copy(update={"worst": worst})
