"""Bit rates of a rendition, measured from its segments as HLS defines them."""

from __future__ import annotations

import math
from collections.abc import Sequence


def rounded_duration(seconds: float) -> int:
    """A segment duration rounded to the nearest integer, halves up (RFC 8216 4.3.3.1)."""
    return math.floor(seconds + 0.5)


def target_duration(durations: Sequence[float]) -> int:
    """The smallest ``EXT-X-TARGETDURATION`` every segment fits (at least 1)."""
    return max((rounded_duration(d) for d in durations), default=1) or 1


def average_bitrate(sizes: Sequence[int], durations: Sequence[float]) -> int:
    total = sum(durations)
    return math.ceil(sum(sizes) * 8 / total) if total > 0 else 0


def peak_bitrate(sizes: Sequence[int], durations: Sequence[float], target: int) -> int:
    """The peak segment bit rate (RFC 8216bis 4.3.4.2): the highest rate of any run of
    consecutive segments lasting 0.5 to 1.5 ``target`` durations.

    A run this short is the honest measure: a lone 20 ms tail segment would otherwise
    report its container overhead as megabits per second. Every single segment of at least
    half a target counts on its own. When no run qualifies (media shorter than half a
    target), the whole is one run.
    """
    low, high = 0.5 * target, 1.5 * target
    best = 0.0
    for i in range(len(sizes)):
        bits, seconds = 0, 0.0
        for j in range(i, len(sizes)):
            bits += sizes[j] * 8
            seconds += durations[j]
            if seconds > high + 1e-6:
                break
            if seconds >= low - 1e-6 and seconds > 0:
                best = max(best, bits / seconds)
    if best == 0.0:
        return average_bitrate(sizes, durations)
    return math.ceil(best)


def buffered_bitrate(sizes: Sequence[int], durations: Sequence[float], min_buffer: float) -> int:
    """The lowest delivery rate at which every segment has arrived when it is due, playback
    starting ``min_buffer`` seconds after the first byte of any segment: the DASH
    ``@bandwidth`` / ``@minBufferTime`` model, at segment granularity."""
    needed = 0.0
    for i in range(len(sizes)):
        bits, elapsed = 0, 0.0
        for j in range(i, len(sizes)):
            bits += sizes[j] * 8
            window = min_buffer + elapsed
            if window > 0:
                needed = max(needed, bits / window)
            elapsed += durations[j]
    return math.ceil(needed)
