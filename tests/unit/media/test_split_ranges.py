"""The split in parallel (docs/chunking.md, "The split in parallel"): the boundaries cut
into ranges, one per split job, and the plan assembled from what each range found is the
very plan one split job makes over all of them."""

from __future__ import annotations

import random

import pytest

from reelflow.media.chunks import (
    assemble_plan,
    boundary_ranges,
    chunk_count,
    find_boundaries,
    output_frame_times,
    plan_chunks,
)
from reelflow.specs.chunks import ChunkPlan, SplitFound

SCENE_REACH = 2.0  # as the split job's scan window (executors/chunks.py)


def covered(ranges: list[tuple[int, int]], boundaries: int) -> list[int]:
    found: list[int] = []
    for first, last in ranges:
        found += range(first, (last or boundaries) + 1)
    return found


@pytest.mark.parametrize(
    ("boundaries", "per_split", "expected"),
    [
        (0, 8, [(1, 0)]),
        (4, 8, [(1, 0)]),
        (8, 8, [(1, 0)]),
        (9, 8, [(1, 4), (5, 0)]),
        (119, 0, [(1, 0)]),  # 0: one split job, as before
        (3, 1, [(1, 1), (2, 2), (3, 0)]),
    ],
)
def test_boundaries_are_cut_into_even_contiguous_ranges(
    boundaries: int, per_split: int, expected: list[tuple[int, int]]
) -> None:
    assert boundary_ranges(boundaries, per_split) == expected


def test_a_two_hour_source_in_60_s_chunks_is_split_by_fifteen_jobs() -> None:
    ranges = boundary_ranges(chunk_count(7200.0, 60.0) - 1, 8)
    assert len(ranges) == 15
    sizes = [(last or 119) - first + 1 for first, last in ranges]
    assert max(sizes) == 8 and min(sizes) == 7
    assert covered(ranges, 119) == list(range(1, 120))  # each boundary once, in order
    assert ranges[-1][1] == 0  # the last runs through whatever the scan counts


def windows(
    count: int, end: float, seconds: float, first: int, last: int
) -> list[tuple[float, float]]:
    look = min(seconds / 4, SCENE_REACH)
    targets = [k * end / count for k in range(first, (last or count - 1) + 1) if k < count]
    return [(t - look, t + look) for t in targets]


def split_jobs(
    frames: list[float],
    end: float,
    seconds: float,
    keyframes: list[float],
    scenes: list[float],
    ranges: list[tuple[int, int]],
) -> ChunkPlan | None:
    """What the split jobs find, each a range, seeing only the scene cuts of its own
    windows (as each scans only those), assembled in a shuffled order."""
    found = []
    count = chunk_count(end, seconds)
    for first, last in ranges:
        mine = windows(count, end, seconds, first, last)
        seen = [t for t in scenes if any(a <= t <= b for a, b in mine)]
        found.append(
            find_boundaries(
                frames,
                end,
                seconds,
                keyframes=keyframes,
                scenes=seen,
                window=seconds / 4,
                first=first,
                last=last,
            )
        )
    random.Random(7).shuffle(found)
    return assemble_plan(found, seconds)


@pytest.mark.parametrize("seed", range(40))
def test_the_assembled_plan_is_the_one_split_jobs_plan(seed: int) -> None:
    rng = random.Random(seed)
    seconds = rng.choice([2.0, 4.0, 10.0, 30.0])
    end = round(rng.uniform(2.5, 30.0) * seconds, 2)
    fps = rng.choice([0.0, 24.0, 25.0, 30000 / 1001])
    if fps:
        frames = output_frame_times(end, fps)
    else:  # a rendition kept VFR: the source's own frame times, with holes
        frames = sorted({round(rng.uniform(0, end - 0.01), 3) for _ in range(int(end * 20))})
        frames[0] = 0.0
    keyframes = sorted(rng.sample(frames, k=max(1, len(frames) // 40)))
    cuts = sorted(rng.uniform(0, end) for _ in range(int(end / 3)))
    # What one split job sees: the cuts in the windows it scans (at most 2 s either side).
    count = chunk_count(end, seconds)
    scenes = [t for t in cuts if any(a <= t <= b for a, b in windows(count, end, seconds, 1, 0))]
    one = plan_chunks(frames, end, seconds, keyframes=keyframes, scenes=scenes, window=seconds / 4)
    assert one is not None
    for per_split in (1, 2, 3, 8):
        ranges = boundary_ranges(count - 1, per_split)
        assert split_jobs(frames, end, seconds, keyframes, cuts, ranges) == one, per_split
        # Given every window's cuts, a range still finds only its own boundaries.
        found = [
            find_boundaries(
                frames,
                end,
                seconds,
                keyframes=keyframes,
                scenes=scenes,
                window=seconds / 4,
                first=first,
                last=last,
            )
            for first, last in ranges
        ]
        assert assemble_plan(found, seconds) == one


def test_boundaries_on_a_range_edge_that_collapse_are_dropped_as_in_one_plan() -> None:
    # Frames 0-10 s and 30-40 s, nothing between: the targets 12 .. 28 s fall in the hole,
    # so several boundaries (each in a range of its own) land on the same frame (9.96 s for
    # 12 and 16, 30 s for 20, 24 and 28): one plan keeps the first of each, and so does
    # the assembly.
    frames = [n / 25 for n in range(250)] + [30 + n / 25 for n in range(250)]
    one = plan_chunks(frames, 40.0, 4.0)
    assert one is not None
    starts = [c.start for c in one.chunks]
    assert starts == pytest.approx([0.0, 4.0, 8.0, 9.96, 30.0, 32.0, 36.0])
    for per_split in (1, 2, 4):
        ranges = boundary_ranges(9, per_split)
        assert split_jobs(frames, 40.0, 4.0, [], [], ranges) == one


def test_the_count_comes_from_each_jobs_scan_not_the_probe() -> None:
    seconds = 2.0
    for probed, scanned in ((10.0, 14.0), (14.0, 9.0)):
        ranges = boundary_ranges(chunk_count(probed, seconds) - 1, 2)
        frames = output_frame_times(scanned, 25)
        one = plan_chunks(frames, scanned, seconds)
        assert one is not None
        assert split_jobs(frames, scanned, seconds, [], [], ranges) == one
        assert len(one.chunks) == chunk_count(scanned, seconds)
    # Probed 14 s (boundaries 1-2, 3-4, 5-6), scanned 9 s (count 4): the last range is past
    # the count and finds nothing.
    frames = output_frame_times(9.0, 25)
    assert find_boundaries(frames, 9.0, 2.0, first=5, last=0).boundaries == []
    assert [b.k for b in find_boundaries(frames, 9.0, 2.0, first=3, last=4).boundaries] == [3]


def test_a_scan_too_short_to_chunk_plans_nothing() -> None:
    frames = output_frame_times(3.9, 25)
    found = [find_boundaries(frames, 3.9, 2.0, first=f, last=la) for f, la in [(1, 1), (2, 0)]]
    assert [f.count for f in found] == [0, 0]
    assert assemble_plan(found, 2.0) is None


def test_split_jobs_that_scanned_different_sources_are_refused() -> None:
    a = find_boundaries(output_frame_times(10.0, 25), 10.0, 2.0, first=1, last=2)
    b = find_boundaries(output_frame_times(10.04, 25), 10.04, 2.0, first=3, last=0)
    with pytest.raises(ValueError, match="different sources"):
        assemble_plan([a, b], 2.0)
    with pytest.raises(ValueError, match="same boundary"):
        assemble_plan([a, a], 2.0)
    assert assemble_plan([SplitFound(count=0, end=1.0)], 2.0) is None
