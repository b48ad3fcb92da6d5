"""The rate of each chunk of a rendition at a bitrate (pure; docs/chunking.md, "Rate
control across chunks").

A one-shot encode at a bitrate spends it where the picture needs it: few bits on easy
minutes, up to the peak on hard ones. A chunk encoded on its own would aim at the
template's bitrate whatever its content, so a hard chunk starves next to an easy one. Each
chunk's difficulty is measured first (``probe_command``: a small, fast constant-quality
encode; bits per second), then ``allocate`` shares the output's bits out over the chunks:
each chunk's target is the template's bitrate times its factor, the factors average 1
over the output's duration (the output's size is the template's), none above the
renditions' headroom (VBR's peak) nor below ``MIN_RATE_FACTOR``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reelflow.media.encoders import rate_headroom
from reelflow.specs.works import TranscodeWork

# A chunk's factor is its difficulty to this power, normalized: 1 would share the bits as
# the probe's constant quality does; 0.5 takes less from the easy chunks, whose start may
# still be hard (one-pass rate control cannot save for it within a chunk). Measured on two
# clips, 0.5 against 1: -0.54 against -0.69 VMAF, and -1.66 against -1.92 (docs/chunking.md).
ALLOCATION_POWER = 0.5
# No chunk below this share of the template's rate (a black or still chunk probes at
# almost nothing, but its rate control still needs bits for its IDR frame and its motion).
MIN_RATE_FACTOR = 0.25
# With no peak (ABR), no chunk above this multiple of the template's rate.
MAX_RATE_FACTOR = 4.0


def group_headroom(works: Sequence[TranscodeWork]) -> float | None:
    """The highest factor the group's renditions allow a chunk (the lowest headroom among
    those at a VBR or ABR bitrate, at most ``MAX_RATE_FACTOR``); ``None`` when none of them
    has a rate to share out (CRF, CBR: nothing to probe)."""
    rooms = [
        rate_headroom(work.template.video_template)
        for work in works
        if work.template.video_template is not None
    ]
    found = [room for room in rooms if room is not None]
    if not found:
        return None
    return min(MAX_RATE_FACTOR, *found)


def allocate(
    difficulties: Sequence[float],
    durations: Sequence[float],
    headroom: float,
    *,
    power: float = ALLOCATION_POWER,
) -> list[float]:
    """Each chunk's rate factor: proportional to its difficulty (bits per second, to
    ``power``), weighted by ``durations`` to average 1, clamped to
    ``MIN_RATE_FACTOR`` .. ``headroom`` with what a clamp takes or gives shared by the
    others (so the average stays 1 while it can)."""
    if len(difficulties) != len(durations) or not durations:
        raise ValueError(f"{len(difficulties)} difficulties for {len(durations)} chunks")
    total = sum(durations)
    if total <= 0:
        return [1.0 for _ in durations]
    floor = min(MIN_RATE_FACTOR, headroom)
    weights = [max(0.0, d) ** power for d in difficulties]
    fixed: dict[int, float] = {}
    while True:
        free = [n for n in range(len(weights)) if n not in fixed]
        if not free:
            break
        budget = total - sum(fixed[n] * durations[n] for n in fixed)
        spread = sum(weights[n] * durations[n] for n in free)
        if spread <= 0 or budget <= 0:
            # Nothing measured (every probe empty) or nothing left: the rest alike.
            share = max(floor, budget / sum(durations[n] for n in free))
            fixed.update({n: min(headroom, share) for n in free})
            break
        factors = {n: weights[n] * budget / spread for n in free}
        over = [n for n in free if factors[n] > headroom]
        under = [n for n in free if factors[n] < floor]
        if over:
            fixed.update({n: headroom for n in over})
        elif under:
            fixed.update({n: floor for n in under})
        else:
            fixed.update(factors)
            break
    return [round(fixed[n], 4) for n in range(len(weights))]


def bits_per_second(size: int, seconds: float) -> float:
    """A probe's difficulty: its stream's bits per second of the chunk."""
    if seconds <= 0 or not math.isfinite(seconds):
        return 0.0
    return 8.0 * size / seconds


__all__ = [
    "ALLOCATION_POWER",
    "MAX_RATE_FACTOR",
    "MIN_RATE_FACTOR",
    "allocate",
    "bits_per_second",
    "group_headroom",
]
