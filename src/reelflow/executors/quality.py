"""The quality step of a transcode job (issue 18): score the renditions that asked for it,
draw each one's worst moment, and store those two pictures next to the rendition.

A step of the job, not a stage of the task graph, and inside the job's own FFmpeg process:
:func:`plan_scoring` adds the scorers to the fused encode command (FFmpeg's loopback
decoders decode each encoder's output as it comes out; the source's one decode feeds the
encoders and the scorers alike), so scoring neither reads the source again nor reads the
renditions back, and it runs while the encoders run. A stage per rendition would fetch,
probe and decode the source once per rendition (docs/quality.md has the measurements). A
score is an addition to a rendition: when the command with the scorers fails, the job
encodes once more without them; when a score or a picture cannot be read, drawn or stored,
the rendition is delivered without it (logged), never failed for it. A cancel stops the job
as usual.

The worst moment's pictures are drawn here, not on demand by the console: only here are
both files at hand in every topology (a console in a cluster would fetch the whole source
from the store, and a URL source again through the egress policy), and the pictures show
the source as it was scored even if it is replaced or deleted later. The scoring run
captures every scored frame of both sides as a small JPEG (``media.quality_pictures``);
the worst one's pair is kept, the rest deleted. Only a worst frame that was not captured
(found by a denser refinement, or a rendition with more scored frames than the captures'
bound) costs one more FFmpeg run that seeks to it on both sides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reelflow.errors import MediaError, StorageError
from reelflow.executors.outputs import Committer
from reelflow.media.command import Command
from reelflow.media.quality import (
    CONFIDENCE_Z,
    QualityCommand,
    QualityOptions,
    Rendition,
    loopback_scoring,
    read_scores,
    refine_subsample,
    score_renditions,
)
from reelflow.media.quality_pictures import captured_frames, discard_captures, extract_frames
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.jobs import JobPayload
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.outputs import AdaptiveStreamingResult, TranscodeResult
from reelflow.specs.quality import QualityScore, RungScore
from reelflow.specs.works import LadderWork, TranscodeWork, Work
from reelflow.storage.base import Storage

log = logging.getLogger(__name__)

# The pictures' keys: the rendition's key without its extension, plus these.
FRAME_SUFFIX = ".worst.jpg"
SOURCE_FRAME_SUFFIX = ".worst-source.jpg"


def scored(work: object) -> bool:
    """A video rendition, or a ladder with video rungs, whose task asked for its score."""
    if isinstance(work, TranscodeWork):
        return work.quality and work.width > 0
    return isinstance(work, LadderWork) and work.quality and bool(work.ladder.video)


@dataclass(frozen=True, slots=True)
class Scored:
    """A rendition's score and, when they could be drawn, its worst moment's pictures
    (rendition, source) on the scratch disk; ``rung``: the ladder rung it is."""

    score: QualityScore
    pictures: tuple[Path, Path] | None
    rung: VideoRendition | None = None


def _renditions(work: Work, command: Command) -> list[tuple[Rendition, VideoRendition | None, int]]:
    """What of ``work`` the scorer compares with the source, with its stream's index in the
    work's output file: a transcode's file (its video is stream 0), or each video rung's
    media playlist in the ladder's raw folder (there until ``finish_ladder`` publishes it,
    after the scoring; DASH and CMAF ladders have them too; rung i is stream i)."""
    if isinstance(work, TranscodeWork):
        path = command.outputs[work.index].main
        if path is None:
            return []
        rendition = Rendition(path, work.width, work.height, work.fps, work.start, work.end)
        return [(rendition, None, 0)]
    assert isinstance(work, LadderWork)
    ladder = work.ladder
    streams = [s for s in command.ladders[work.index].streams if s.kind == "video"]
    return [
        (Rendition(s.playlist, rung.width, rung.height, ladder.fps), rung, s.index)
        for s in streams
        for rung in (ladder.video[s.index],)
    ]


@dataclass(frozen=True, slots=True)
class ScoringPlan:
    """The job's encode with the scoring of its renditions in the same FFmpeg process
    (``command.args``: run it instead of the encode alone); ``items`` the scored
    renditions in the scorers' order: (work index, rendition, ladder rung or ``None``)."""

    command: QualityCommand
    items: list[tuple[int, Rendition, VideoRendition | None]]
    folder: Path


def plan_scoring(job: JobPayload, command: Command, work_dir: Path) -> ScoringPlan | None:
    """``command`` with the scoring of the job's renditions that asked for one added to it
    (loopback decoders: the encoders' output decoded in the same process, the source's one
    decode shared), or ``None`` when nothing is to be scored."""
    info = job.media_info
    if info is None:
        return None
    found = [
        (w.index, r, rung, stream)
        for w in job.works
        if scored(w)
        for r, rung, stream in _renditions(w, command)
    ]
    if not found:
        return None
    items = [(index, r, rung) for index, r, rung, _ in found]
    streams = [(command.output_files[index], stream) for index, _, _, stream in found]
    folder = work_dir / "quality"
    frames = folder / "frames"  # the scored frames captured, for the worst moment's pictures
    frames.mkdir(parents=True, exist_ok=True)
    fused = loopback_scoring(command.args, info, [r for _, r, _ in items], streams, folder,
                             capture=frames)  # fmt: skip
    return ScoringPlan(command=fused, items=items, folder=folder)


def score_works(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    plan: ScoringPlan,
    *,
    timeout: float,
    cancel: threading.Event,
) -> dict[int, list[Scored]]:
    """After ``plan``'s command ran: the scores of the job's renditions that asked for one,
    by work index (a ladder has one per video rung), with their worst moments' pictures:
    the pair the scoring run captured for the worst frame, else drawn by seeking to it;
    the other captured frames are deleted."""
    info = job.media_info
    assert info is not None
    captures = [logs.capture for logs in plan.command.logs]
    try:
        scores = read_scores(plan.command)
    except MediaError as exc:
        log.warning("job %s: renditions left without a quality score: %s", job.job_id, exc.message)
        discard_captures(captures)
        return {}
    started = time.monotonic()
    scores = refine_scores(runner, job, src, plan, scores, timeout=timeout, cancel=cancel)
    timeout -= time.monotonic() - started
    out = plan.folder
    found: dict[int, list[Scored]] = {}
    items = zip(plan.items, scores, plan.command.logs, strict=True)
    for i, ((index, rendition, rung), score, logs) in enumerate(items):
        pictures = None
        pair = (out / f"worst{i}.jpg", out / f"worst{i}-source.jpg")
        if score.worst is not None:
            pictures = captured_frames(logs.capture, logs.rate, score.worst.time, pair)
        if pictures is None and score.worst is not None and timeout > 0:
            try:
                pictures = extract_frames(
                    runner, src, info, rendition, score.worst.time, pair,
                    timeout=timeout, cancel=cancel,
                )  # fmt: skip
            except MediaError as exc:
                log.warning("job %s: worst moment of rendition %s not drawn: %s",
                            job.job_id, index, exc.message)  # fmt: skip
        found.setdefault(index, []).append(Scored(score, pictures, rung))
    discard_captures(captures)
    return found


def refine_scores(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    plan: ScoringPlan,
    scores: list[QualityScore],
    *,
    timeout: float,
    cancel: threading.Event,
) -> list[QualityScore]:
    """``scores`` with each one whose subsampled mean is not trusted (its 95 % interval
    wider than ``HALF_WIDTH`` VMAF: a title with scene cuts, typically) replaced by a
    denser scoring of the written rendition (``refine_subsample``), in one more FFmpeg
    process per subsampling (the source decoded once for the renditions refined alike).
    A refinement that fails leaves the first score (logged)."""
    info = job.media_info
    assert info is not None
    dense: dict[int, list[int]] = {}
    for i, score in enumerate(scores):
        n = refine_subsample(score)
        if n is not None:
            dense.setdefault(n, []).append(i)
    refined = list(scores)
    for n, picked in sorted(dense.items()):
        left = timeout
        if left <= 0:
            break
        renditions = [plan.items[i][1] for i in picked]
        started = time.monotonic()
        try:
            again = score_renditions(
                runner, src, info, renditions, plan.folder / f"refine{n}", timeout=left,
                options=QualityOptions(subsample=n), cancel=cancel,
            )  # fmt: skip
        except MediaError as exc:
            log.warning("job %s: quality scores of %s not refined: %s", job.job_id,
                        [plan.items[i][0] for i in picked], exc.message)  # fmt: skip
            continue
        finally:
            timeout -= time.monotonic() - started
        for i, score in zip(picked, again, strict=True):
            first = scores[i]
            width = CONFIDENCE_Z * (first.vmaf.std_err or 0.0)
            log.info("job %s: VMAF mean of rendition %s refined from every %d-th frame "
                     "(%.2f +/- %.2f) to every %d-th (%.2f)", job.job_id, plan.items[i][0],
                     first.subsample, first.vmaf.mean, width, n, score.vmaf.mean)  # fmt: skip
            refined[i] = score
    return refined


def picture_keys(key: str, rung: VideoRendition | None = None) -> tuple[str, str]:
    """The keys of a rendition's worst-moment pictures, next to it: ``out/a_720.mp4`` ->
    ``out/a_720.worst.jpg``, ``out/a_720.worst-source.jpg``; a ladder's rung, next to its
    master (``key`` without extension): ``out/a_ladder.rung1.worst.jpg``, ..."""
    path = PurePosixPath(key)
    stem = str(path.with_suffix("")) if path.suffix and rung is None else key
    if rung is not None:
        stem += f".rung{rung.stream_info}"
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
    if found.pictures is None or score.worst is None:
        return score
    if isinstance(work, TranscodeWork):
        keys = picture_keys(work.key)
    elif isinstance(work, LadderWork):
        keys = picture_keys(work.folder + work.names.master, found.rung)
    else:
        return score
    committer: Committer | None = None
    try:
        committer = Committer(storage_for(work.bucket), patience)
        for key, path in zip(keys, found.pictures, strict=True):
            committer.put(key, path)
    except StorageError as exc:
        if committer is not None:
            committer.rollback()
        log.warning("worst moment of %s not stored: %s", keys[0], exc.message)
        return score
    worst = score.worst.model_copy(
        update={"bucket": work.bucket, "frame_key": keys[0], "source_key": keys[1]}
    )
    return score.model_copy(update={"worst": worst})


def scored_output(
    work: Work,
    output: object,
    found: list[Scored],
    storage_for: Callable[[str], Storage],
    *,
    patience: float,
) -> object:
    """``output`` (a stored transcode's or ladder's result) with its scores, their pictures
    stored next to it."""
    scores = [store_pictures(work, f, storage_for, patience=patience) for f in found]
    if isinstance(output, TranscodeResult) and scores:
        return output.model_copy(update={"quality": scores[0]})
    if isinstance(output, AdaptiveStreamingResult):
        rungs = [
            RungScore(
                stream_info=f.rung.stream_info,
                width=f.rung.width,
                height=f.rung.height,
                bitrate=f.rung.bitrate,
                score=score,
            )
            for f, score in zip(found, scores, strict=True)
            if f.rung is not None
        ]
        return output.model_copy(update={"quality": rungs})
    return output
