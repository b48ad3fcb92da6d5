"""Where a long output is cut into chunks: pure functions over frame and keyframe times.

Boundaries are frame times of the *output* (the frames a one-shot encode of the rendition
makes), so a chunk is an exact run of output frames whatever the source's keyframes are:
each chunk is decoded with an accurate seek and cut on decoded frames
(``reelflow.media.chunks.command``), never by packet copy. A source keyframe near the
target is preferred (the seek lands on it, so fewer frames are decoded and thrown away);
without one in the window the boundary is the frame nearest the target (a long-GOP source).
Measured in docs/chunking.md: both give the one-shot encode's frames and timestamps.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from reelflow.specs.chunks import Boundary, Chunk, ChunkPlan, SplitFound

# A keyframe seek asks for a whole second at least this far past the keyframe: FFmpeg
# seeks 3/23 s (0.13 s) before the asked time when the video has B-frames.
KEYFRAME_SEEK_AFTER = 0.2
# ... and the next keyframe must be at least this far past the asked time, so that the
# demuxer (which looks up decode timestamps, a B-frame delay before the presentation
# times) does not land on it.
KEYFRAME_SEEK_CLEAR = 0.5


def output_frame_times(end: float, fps: float) -> list[float]:
    """The frame times of a constant-rate output of ``end`` seconds (FFmpeg's ``fps``
    filter over a source starting at 0): ``n / fps`` for every frame starting before
    ``end``."""
    count = max(0, round(end * fps))
    return [n / fps for n in range(count)]


def should_chunk(duration: float, chunk_seconds: float) -> bool:
    """Whether an output of ``duration`` seconds is chunked: ``chunk_seconds`` > 0 and the
    output longer than two chunks (shorter ones gain less than the split and join cost)."""
    return chunk_seconds > 0 and duration > 2 * chunk_seconds


def chunk_count(end: float, chunk_seconds: float) -> int:
    """How many chunks an output of ``end`` seconds is aimed at: ``floor(end / C)`` (its
    boundaries are 1 .. count - 1)."""
    return int(end // chunk_seconds) if chunk_seconds > 0 else 0


def boundary_ranges(boundaries: int, per_split: int) -> list[tuple[int, int]]:
    """The boundaries ``1 .. boundaries`` in contiguous ranges ``(first, last)`` of at most
    ``per_split`` each (as even as they go), one per split job; one range when ``per_split``
    is 0 or they all fit. The last range's ``last`` is 0 ("through the last"), so a split job
    whose scan finds more boundaries than the probe promised still covers them."""
    if boundaries < 1 or per_split <= 0 or boundaries <= per_split:
        return [(1, 0)]
    jobs = -(-boundaries // per_split)
    edges = [1 + n * boundaries // jobs for n in range(jobs + 1)]
    ranges = [(edges[n], edges[n + 1] - 1) for n in range(jobs)]
    ranges[-1] = (ranges[-1][0], 0)
    return ranges


def find_boundaries(
    frame_times: Sequence[float],
    end: float,
    chunk_seconds: float,
    *,
    keyframes: Sequence[float] = (),
    scenes: Sequence[float] = (),
    window: float | None = None,
    first: int = 1,
    last: int = 0,
) -> SplitFound:
    """The boundaries ``first`` .. ``last`` (0: through ``count - 1``) of the plan
    :func:`plan_chunks` makes with the same arguments, each found on its own: a boundary
    depends only on its target, the frames, the keyframes and the scene cuts within
    ``window`` of the target (the split scans a window of at most that much around each
    target, and targets are at least a chunk apart, so a window's cuts are near its own
    boundary only). Boundaries outside the output's frames are left out; which ones are kept
    in order is :func:`assemble_plan`'s business. ``count`` < 2 when it is not chunked."""
    if not should_chunk(end, chunk_seconds) or len(frame_times) < 2:
        return SplitFound(count=0, end=end)
    count = chunk_count(end, chunk_seconds)
    reach = chunk_seconds / 4 if window is None else window
    found = []
    for k in range(max(1, first), (last or count - 1) + 1):
        if k >= count:
            break
        target = k * end / count
        index, on_key = _boundary(frame_times, keyframes, scenes, target, reach)
        if 0 < index < len(frame_times):
            found.append(
                Boundary(
                    k=k,
                    frame=index,
                    start=frame_times[index],
                    cut=_between(frame_times, index),
                    at_keyframe=on_key,
                    keyframe_seek=_keyframe_seek(keyframes, frame_times[index]),
                )
            )
    return SplitFound(
        count=count, end=end, first=frame_times[0], frames=len(frame_times), boundaries=found
    )


def assemble_plan(found: Sequence[SplitFound], chunk_seconds: float) -> ChunkPlan | None:
    """The plan made of what the split jobs of one group found (each a range of the
    boundaries; in any order): exactly :func:`plan_chunks`'s over the whole range. ``None``
    when the output is not chunked. Raises ``ValueError`` when the split jobs' scans
    disagree (the source changed between them)."""
    if not found:
        return None
    scans = {(f.count, f.end, f.first, f.frames) for f in found}
    if len(scans) > 1:
        raise ValueError(f"the split jobs scanned different sources: {sorted(scans)}")
    head = found[0]
    if head.count < 2:
        return None
    boundaries = sorted((b for f in found for b in f.boundaries), key=lambda b: b.k)
    if [b.k for b in boundaries] != sorted({b.k for b in boundaries}):
        raise ValueError("two split jobs found the same boundary")
    kept: list[Boundary] = []
    for boundary in boundaries:
        # As plan_chunks: a boundary that falls on or before the previous one is dropped.
        if boundary.frame > (kept[-1].frame if kept else 0):
            kept.append(boundary)
    chunks = []
    for n in range(len(kept) + 1):
        at = kept[n - 1] if n else None
        after = kept[n] if n < len(kept) else None
        first = at.frame if at else 0
        chunks.append(
            Chunk(
                index=n,
                start=at.start if at else head.first,
                end=after.start if after else head.end,
                cut_start=at.cut if at else 0.0,
                cut_end=after.cut if after else 0.0,
                frames=(after.frame if after else head.frames) - first,
                at_keyframe=at.at_keyframe if at else True,
                keyframe_seek=at.keyframe_seek if at else None,
            )
        )
    return ChunkPlan(chunk_seconds=chunk_seconds, end=head.end, chunks=chunks)


def plan_chunks(
    frame_times: Sequence[float],
    end: float,
    chunk_seconds: float,
    *,
    keyframes: Sequence[float] = (),
    scenes: Sequence[float] = (),
    window: float | None = None,
) -> ChunkPlan | None:
    """Chunks of about ``chunk_seconds`` over an output whose frames start at the sorted
    ``frame_times`` and which ends at ``end``; ``None`` when it is not chunked
    (:func:`should_chunk`).

    The output is cut into ``floor(end / chunk_seconds)`` chunks aimed at equal lengths;
    each boundary moves to the scene cut (``scenes``: times of the first frame of a new
    shot) nearest its target within ``window`` seconds (default a quarter chunk), where a
    viewer cannot see a seam; else to the source keyframe nearest it in that window; else to
    the frame nearest the target. (:func:`find_boundaries` over every boundary, then
    :func:`assemble_plan`: what several split jobs do a range each.)
    """
    found = find_boundaries(
        frame_times, end, chunk_seconds, keyframes=keyframes, scenes=scenes, window=window
    )
    return assemble_plan([found], chunk_seconds)


def _boundary(
    frame_times: Sequence[float],
    keyframes: Sequence[float],
    scenes: Sequence[float],
    target: float,
    reach: float,
) -> tuple[int, bool]:
    """The index of the frame a chunk boundary aimed at ``target`` falls on, and whether
    it is (the output frame showing) a source keyframe."""
    slack = _slack(frame_times)
    for wanted in (scenes, keyframes):
        near = [t for t in wanted if abs(t - target) <= reach and t > 0]
        if near:
            at = min(near, key=lambda t: abs(t - target))
            # The first output frame at or after it (half a frame of slack for a time that
            # is not exactly on the output's grid).
            index = bisect.bisect_left(frame_times, at - slack)
            return index, any(abs(key - at) <= slack for key in keyframes)
    i = bisect.bisect_left(frame_times, target)
    if i > 0 and (i == len(frame_times) or target - frame_times[i - 1] < frame_times[i] - target):
        i -= 1
    return i, False


def _keyframe_seek(keyframes: Sequence[float], first: float) -> int | None:
    """The whole second to seek to so that decoding starts at the last keyframe at or
    before ``first`` (the time of the chunk's first frame); None when no such second is
    clear of the next keyframe (then the chunk seeks by time, from an earlier keyframe)."""
    keys = sorted(keyframes)
    i = bisect.bisect_right(keys, first + 1e-6)
    if i == 0:
        return None
    seek = math.ceil(keys[i - 1] + KEYFRAME_SEEK_AFTER)
    if i < len(keys) and keys[i] < seek + KEYFRAME_SEEK_CLEAR:
        return None
    return seek


def _slack(frame_times: Sequence[float]) -> float:
    return (frame_times[1] - frame_times[0]) / 2 if len(frame_times) > 1 else 0.0


def _between(frame_times: Sequence[float], index: int) -> float:
    """Halfway between frame ``index`` and the one before it: a cut no frame sits on."""
    return (frame_times[index - 1] + frame_times[index]) / 2


__all__ = [
    "assemble_plan",
    "boundary_ranges",
    "chunk_count",
    "find_boundaries",
    "output_frame_times",
    "plan_chunks",
    "should_chunk",
]
