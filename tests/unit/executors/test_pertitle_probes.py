"""Which probes a job's per-title analysis asks for (reelflow.executors.pertitle): the
sizes probed, and the sizes probed again past the last CRF when they still reach the
target."""

from __future__ import annotations

import pytest

from reelflow.executors import pertitle
from reelflow.executors.pertitle import extend_sizes, probe_sizes
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.pertitle import RatePoint
from reelflow.specs.units import VideoCodec

P360, P540, P720, P1080 = (640, 360), (960, 540), (1280, 720), (1920, 1080)


def rung(index: int, size: tuple[int, int]) -> VideoRendition:
    return VideoRendition(
        stream_info=index, codec=VideoCodec.H264, width=size[0], height=size[1], bitrate=500
    )


def test_a_four_size_ladder_is_probed_without_its_smallest_size() -> None:
    rungs = [rung(0, P360), rung(1, P540), rung(2, P720), rung(3, P1080)]
    assert probe_sizes(rungs) == [P540, P720, P1080]


def test_a_ladder_of_three_sizes_or_fewer_is_probed_at_every_size() -> None:
    # a repeated size counts once
    rungs = [rung(0, P540), rung(1, P720), rung(2, P1080), rung(3, P1080)]
    assert probe_sizes(rungs) == [P540, P720, P1080]


def test_every_size_is_probed_when_the_lever_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pertitle, "PROBE_SKIP_SMALLEST", False)
    rungs = [rung(0, P360), rung(1, P540), rung(2, P720), rung(3, P1080)]
    assert probe_sizes(rungs) == [P360, P540, P720, P1080]


def test_only_sizes_whose_cheapest_probe_reaches_the_target_are_probed_further() -> None:
    points = [
        RatePoint(*P720, 27, 60.0, 96.0), RatePoint(*P720, 36, 30.0, 91.0),
        RatePoint(*P1080, 27, 80.0, 98.0), RatePoint(*P1080, 36, 40.0, 94.5),
    ]  # fmt: skip
    assert extend_sizes(points, 93.0, 45) == [P1080]
    assert extend_sizes(points, 90.0, 45) == [P720, P1080]
    # after the extension at 45, only what still reaches the target at 45 goes on to 51
    points.append(RatePoint(*P1080, 45, 25.0, 92.0))
    assert extend_sizes(points, 93.0, 51) == []
    assert extend_sizes(points, 91.5, 51) == [P1080]
