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

from reelflow.specs.chunks import Chunk, ChunkPlan

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
    the frame nearest the target.
    """
    if not should_chunk(end, chunk_seconds) or len(frame_times) < 2:
        return None
    count = int(end // chunk_seconds)
    reach = chunk_seconds / 4 if window is None else window
    firsts = [0]  # index of each chunk's first frame
    keyed = [True]
    for k in range(1, count):
        target = k * end / count
        index, on_key = _boundary(frame_times, keyframes, scenes, target, reach)
        if index > firsts[-1] and index < len(frame_times):
            firsts.append(index)
            keyed.append(on_key)
    chunks = []
    for n, first in enumerate(firsts):
        last = n + 1 == len(firsts)
        after = len(frame_times) if last else firsts[n + 1]
        chunks.append(
            Chunk(
                index=n,
                start=frame_times[first],
                end=end if last else frame_times[after],
                cut_start=0.0 if first == 0 else _between(frame_times, first),
                cut_end=0.0 if last else _between(frame_times, after),
                frames=after - first,
                at_keyframe=keyed[n],
                keyframe_seek=None if first == 0 else _keyframe_seek(keyframes, frame_times[first]),
            )
        )
    return ChunkPlan(chunk_seconds=chunk_seconds, end=end, chunks=chunks)


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


__all__ = ["output_frame_times", "plan_chunks", "should_chunk"]
