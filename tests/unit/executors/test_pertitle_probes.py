"""Which probes a job's per-title analysis asks for (reelflow.executors.pertitle): the
sizes probed, the scenes and sizes cut to the title's length, and the sizes probed again
past the last CRF when they still reach the target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelflow.executors import pertitle
from reelflow.executors.pertitle import extend_sizes, fit_probes, probe_cost, probe_sizes
from reelflow.media.pertitle import ProbeOptions
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.media import MediaInfo
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


# The job's probes of the 4-rung 1080p ladder: 3 x 1 s scenes, CRF 18/27/36, three sizes.
PROBES = ProbeOptions(scenes=3, scene_seconds=1.0, crfs=(18, 27, 36))
THREE = [P540, P720, P1080]


def test_the_probes_cost_is_counted_in_seconds_of_the_largest_size() -> None:
    # 3 scenes x 1 s x 3 CRFs x (1/4 + 4/9 + 1) of a 1080p second
    assert probe_cost(3, 1.0, THREE, 3) == pytest.approx(15.25)
    assert probe_cost(1, 1.0, [P540, P1080], 3) == pytest.approx(3.75)
    assert probe_cost(2, 0.5, [P720], 2) == 2.0  # one size: its own seconds


@pytest.mark.parametrize(
    ("seconds", "scenes", "sizes"),
    [
        (600.0, 3, THREE),
        (60.0, 3, THREE),
        (30.5, 3, THREE),  # 15.25 s of probes: half the title, the whole analysis
        (30.0, 2, THREE),
        (20.4, 2, THREE),  # 10.17 s
        (20.0, 1, THREE),
        (10.2, 1, THREE),  # 5.08 s
        (10.0, 1, [P540, P1080]),  # the middle size goes: 3.75 s
        (8.0, 1, [P540, P1080]),
        (2.0, 1, [P540, P1080]),  # never under one scene and the two ends
    ],
)
def test_a_title_gets_probes_of_at_most_half_its_length_fewer_scenes_first(
    seconds: float, scenes: int, sizes: list[tuple[int, int]]
) -> None:
    assert pertitle.PROBE_SHARE == 0.5
    options, kept = fit_probes(seconds, PROBES, THREE)
    assert (options.scenes, kept) == (scenes, sizes)
    assert options.scene_seconds == 1.0 and options.crfs == (18, 27, 36)  # never cut
    if scenes == 3:
        assert options is PROBES  # a long title's analysis is today's, unchanged
    if seconds >= 8:
        assert probe_cost(options.scenes, 1.0, kept, 3) <= seconds / 2


def test_the_largest_middle_size_goes_first_and_the_two_ends_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    four = [P360, P540, P720, P1080]
    # one scene of all four: 3 x (1/9 + 1/4 + 4/9 + 1) = 5.42 s; without 720p 4.08 s
    assert fit_probes(9.0, PROBES, four)[1] == [P360, P540, P1080]
    assert fit_probes(8.0, PROBES, four)[1] == [P360, P1080]
    monkeypatch.setattr(pertitle, "PROBE_SHARE", 0.0)  # off: the whole analysis
    assert fit_probes(8.0, PROBES, four) == (PROBES, four)


def test_the_analysis_of_a_short_title_probes_what_the_rule_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[list[tuple[int, int]], ProbeOptions]] = []

    def measure(*args: Any, **kwargs: Any) -> list[RatePoint]:
        asked.append((list(args[3]), kwargs["options"]))
        return []

    monkeypatch.setattr(pertitle, "measure_points", measure)
    rungs = [rung(0, P360), rung(1, P540), rung(2, P720), rung(3, P1080)]
    for seconds in (8.0, 90.0):
        info = MediaInfo("mov,mp4", seconds, 1, None, (), ())
        pertitle.probe_title(FFmpegRunner(Path("ffmpeg")), "a.mp4", info, rungs, Path("w"),
                             PROBES, 93.0, timeout=60)  # fmt: skip
    assert [(sizes, o.scenes) for sizes, o in asked] == [([P540, P1080], 1), (THREE, 3)]
