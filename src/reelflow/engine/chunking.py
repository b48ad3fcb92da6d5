"""Which renditions are encoded in chunks, and the shape of a chunked group (pure).

A planned job's renditions that can be chunked (``chunkable``: video, whole timeline, one
file; no head or tail clips; a scored one is scored by its join, on the joined output) and
are longer than two chunks form groups, one per output frame rate (one chunk plan serves a
group: its chunk jobs fuse the group's renditions from one decode). The group's nodes are
jobs of the task graph (``reelflow.engine.chunk_nodes``): SPLIT -> one VIDEO job per chunk
-> JOIN, and one AUDIO job (a group of transcodes plans it with its split: it needs no
chunk, and runs while the split and the probes keep fewer workers busy than there are).
Chunking needs more than one slot to gain anything: a local executor with at least two
workers, or a cluster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reelflow.config import Settings
from reelflow.media.chunks.command import chunkable
from reelflow.media.chunks.plan import boundary_ranges, chunk_count, should_chunk
from reelflow.media.ladder.chunked import ladder_chunkable
from reelflow.specs.chunks import ChunkedJob, ChunkRole
from reelflow.specs.media import MediaInfo
from reelflow.specs.works import LadderWork, TranscodeWork, Work

CHUNK_FAILED = "FailedOperation.ChunkFailed"
# Shares of a group's progress: the chunks' video (by duration), the audio, the join; the
# chunks' difficulty probes (when the group probes them) take theirs from the video's.
VIDEO_SHARE = 0.9
AUDIO_SHARE = 0.05
PROBE_SHARE = 0.05
PARTS_FOLDER = ".reelflow-chunks"  # temporary keys of a cluster's parts, in the output bucket


@dataclass(frozen=True)
class Groups:
    """A planned job's works: the chunked groups, and the rest (one MEDIA job, as before)."""

    groups: list[list[TranscodeWork] | list[LadderWork]]
    rest: list[Work]


def can_chunk(settings: Settings) -> bool:
    """Whether this service chunks at all: a chunk length, and more than one slot."""
    slots = settings.executor == "celery" or settings.workers >= 2
    return settings.chunk_seconds > 0 and slots


def _chunked(work: Work, info: MediaInfo, chunk_seconds: float) -> bool:
    return (
        isinstance(work, TranscodeWork)
        and chunkable(work)
        and not work.target_vmaf  # per-title: chosen by an analysis of the whole source
        and not (work.heads or work.tails)
        and info.primary_video is not None
        and should_chunk(info.duration or 0.0, chunk_seconds)
    )


def _chunked_ladder(work: Work, info: MediaInfo, chunk_seconds: float) -> bool:
    """A ladder of separate segment files (HLS; DASH/CMAF of whole-frame segments:
    ``ladder_chunkable``), not scored, not per-title (its rungs are chosen by an analysis of
    the whole source), longer than two chunks."""
    return (
        isinstance(work, LadderWork)
        and ladder_chunkable(work.ladder)
        and not work.quality
        and not work.target_vmaf
        and info.primary_video is not None
        and should_chunk(info.duration or 0.0, chunk_seconds)
    )


def chunk_groups(works: Sequence[Work], info: MediaInfo, settings: Settings) -> Groups:
    """Split ``works`` (one planned job's) into chunked groups and the rest."""
    if not can_chunk(settings):
        return Groups([], list(works))
    by_rate: dict[float, list[TranscodeWork]] = {}
    ladders: list[list[LadderWork]] = []
    rest: list[Work] = []
    # A sub-task is chunked whole or not at all: one with several works stays in one job.
    counts = Counter(work.index for work in works)
    for work in works:
        alone = counts[work.index] == 1
        if (
            alone
            and isinstance(work, TranscodeWork)
            and _chunked(work, info, settings.chunk_seconds)
        ):
            by_rate.setdefault(work.fps, []).append(work)
        elif (
            alone
            and isinstance(work, LadderWork)
            and _chunked_ladder(work, info, settings.chunk_seconds)
        ):
            ladders.append([work])  # a ladder is its own group: its chunks fuse its rungs
        else:
            rest.append(work)
    return Groups([*by_rate.values(), *ladders], rest)


def parts_place(
    task_id: str, group: int, works: Sequence[TranscodeWork | LadderWork], settings: Settings
) -> tuple[str, str]:
    """Where a group's parts live: (bucket, prefix); bucket "" = this machine's scratch."""
    if settings.executor == "local":
        return "", f"{task_id}-g{group}"
    return works[0].bucket, f"{PARTS_FOLDER}/{task_id}/g{group}/"


def split_of(
    task_id: str, works: Sequence[TranscodeWork | LadderWork], settings: Settings
) -> ChunkedJob:
    group = min(work.index for work in works)
    bucket, prefix = parts_place(task_id, group, works, settings)
    return ChunkedJob(
        role=ChunkRole.SPLIT,
        group=group,
        chunk_seconds=settings.chunk_seconds,
        first_pass=settings.chunk_first_pass,
        rates=settings.chunk_rates,
        bucket=bucket,
        prefix=prefix,
    )


def split_parts(
    task_id: str, works: Sequence[TranscodeWork | LadderWork], info: MediaInfo, settings: Settings
) -> list[ChunkedJob]:
    """The SPLIT jobs of a group: one per range of at most ``chunk_split_boundaries``
    boundaries (counted from the probed duration; each split job counts again from its own
    scan, and the last range runs through the last boundary it finds), so that many workers
    scan a long source's boundaries at once. A ladder's split is pure arithmetic on its
    segment borders: one job."""
    part = split_of(task_id, works, settings)
    if isinstance(works[0], LadderWork):
        return [part]
    count = chunk_count(info.duration or 0.0, settings.chunk_seconds)
    ranges = boundary_ranges(count - 1, settings.chunk_split_boundaries)
    return [
        part.model_copy(update={"first_boundary": first, "last_boundary": last})
        for first, last in ranges
    ]


def has_audio(info: MediaInfo | None, works: Sequence[Work]) -> bool:
    """Whether a group has an AUDIO part: the source has audio and a rendition keeps it."""
    return (
        info is not None
        and info.has_audio
        and any(
            (isinstance(w, TranscodeWork) and not w.template.remove_audio)
            or (isinstance(w, LadderWork) and bool(w.ladder.audio))
            for w in works
        )
    )


def early_audio(
    split: ChunkedJob, lead: int, works: Sequence[TranscodeWork | LadderWork], info: MediaInfo
) -> ChunkedJob | None:
    """The AUDIO part a group of transcodes plans with its split jobs (``lead``: the first
    one's id, which names the generation); ``None`` for a ladder (its split is arithmetic,
    done at once: its audio is planned with its chunks) or a group without audio."""
    if isinstance(works[0], LadderWork) or not has_audio(info, works):
        return None
    return split.model_copy(
        update={"role": ChunkRole.AUDIO, "split": lead, "lead": 0,
                "prefix": generation_prefix(split, lead), "weight": AUDIO_SHARE}
    )  # fmt: skip


def generation_prefix(part: ChunkedJob, split: int) -> str:
    """The prefix of the parts planned by the split job ``split``: each generation of a
    group (a retried task splits again) has its own, so removing a failed one's parts
    (``reelflow.engine.leftovers``) never touches another's."""
    if part.bucket:
        return f"{part.prefix}s{split}/"
    return f"{part.prefix}-s{split}"


def describe_part(part: ChunkedJob, count: int | None = None) -> str:
    """A part as a person reads it in an error: "chunk 2 of 3 (4.00-6.00 s)", "the split
    step (boundaries 9-16)" (one of several split jobs)."""
    if part.role in (ChunkRole.VIDEO, ChunkRole.PROBE) and part.chunk is not None:
        chunk = part.chunk
        of = f" of {count}" if count else ""
        probe = "the difficulty probe of " if part.role is ChunkRole.PROBE else ""
        return f"{probe}chunk {chunk.index}{of} ({chunk.start:.2f}-{chunk.end:.2f} s)"
    if part.role is ChunkRole.SPLIT and (part.first_boundary > 1 or part.last_boundary):
        last = str(part.last_boundary) if part.last_boundary else "the last"
        return f"the split step (boundaries {part.first_boundary}-{last})"
    return f"the {part.role.value} step"


__all__ = [
    "AUDIO_SHARE",
    "CHUNK_FAILED",
    "PROBE_SHARE",
    "VIDEO_SHARE",
    "Groups",
    "can_chunk",
    "chunk_groups",
    "describe_part",
    "early_audio",
    "generation_prefix",
    "has_audio",
    "parts_place",
    "split_of",
    "split_parts",
]
