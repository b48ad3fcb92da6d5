"""The per-title decisions on hand-made points (reelflow.planner.pertitle)."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from reelflow.planner.pertitle import (
    MAX_CRF_STEP,
    MAX_STEP_RATIO,
    STEP_VMAF,
    choose_rungs,
    corrected_crf,
    crf_at,
    curves,
    kbps_at_crf,
    rate_for,
    upper_hull,
    vmaf_at,
)
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.pertitle import RatePoint
from reelflow.specs.units import VideoCodec

SMALL, BIG = (640, 360), (1280, 720)


def pt(size: tuple[int, int], kbps: float, vmaf: float, crf: int = 23) -> RatePoint:
    return RatePoint(size[0], size[1], crf, kbps, vmaf)


def rung(index: int, size: tuple[int, int], kbps: int) -> VideoRendition:
    return VideoRendition(
        stream_info=index, codec=VideoCodec.H264, width=size[0], height=size[1], bitrate=kbps
    )


# Two sizes whose curves cross: the small one is better at low rates, the big one above.
POINTS = [
    pt(SMALL, 200, 70), pt(SMALL, 400, 80), pt(SMALL, 800, 85), pt(SMALL, 1600, 87),
    pt(BIG, 400, 65), pt(BIG, 800, 82), pt(BIG, 1600, 92), pt(BIG, 3200, 96),
]  # fmt: skip
FIXED = [rung(0, SMALL, 800), rung(1, BIG, 1600), rung(2, BIG, 3000)]


def test_the_hull_is_the_rising_upper_envelope_across_sizes() -> None:
    hull = upper_hull([*POINTS, pt(BIG, 5000, 95.5)])  # costlier and worse: never on it
    assert [(p.size, p.kbps) for p in hull] == [
        (SMALL, 200), (SMALL, 400), (BIG, 1600), (BIG, 3200),
    ]  # fmt: skip
    assert all(a.kbps < b.kbps and a.vmaf < b.vmaf for a, b in pairwise(hull))
    # concave in log2(rate): each doubling gains no more than the one before
    gains = [(b.vmaf - a.vmaf) / math.log2(b.kbps / a.kbps) for a, b in pairwise(hull)]
    assert gains == sorted(gains, reverse=True)


def test_a_curve_never_falls_and_is_interpolated_in_log_rate() -> None:
    [curve] = curves([pt(SMALL, 100, 60), pt(SMALL, 200, 58), pt(SMALL, 400, 80)]).values()
    assert [p.kbps for p in curve] == [100, 400]  # the noisy 200 kbps probe is dropped
    assert vmaf_at(curve, 200) == pytest.approx(70)  # halfway in log2 between 100 and 400
    assert vmaf_at(curve, 1000) == 80  # saturates past the last probe
    assert rate_for(curve, 70) == pytest.approx(200)
    assert rate_for(curve, 50) == 100  # never below the cheapest probe
    assert rate_for(curve, 81) is None


def test_the_top_rung_gets_the_lowest_rate_reaching_the_target() -> None:
    top = choose_rungs(POINTS, FIXED, target_vmaf=93)[-1]
    assert (top.width, top.height) == BIG
    assert top.kbps == round(1600 * 2 ** (1 / 4))  # 93 is a quarter of the way from 92 to 96
    assert top.predicted_vmaf == pytest.approx(93, abs=0.05)
    assert top.fixed_kbps == 3000
    assert top.saved_kbps == 3000 - top.kbps


def test_lower_rungs_step_down_in_quality_along_the_hull() -> None:
    low, mid, top = choose_rungs(POINTS, FIXED, target_vmaf=93)
    assert mid.predicted_vmaf == pytest.approx(93 - STEP_VMAF, abs=0.05)  # 87: BIG at ~1131
    assert (mid.width, mid.height) == BIG
    # 81: the small size reaches it cheaper (~480 kbps) than the big one (~760)
    assert (low.width, low.height) == SMALL
    assert low.predicted_vmaf == pytest.approx(93 - 2 * STEP_VMAF, abs=0.05)
    assert low.kbps < mid.kbps < top.kbps
    assert [c.stream_info for c in (low, mid, top)] == [0, 1, 2]


def test_neighbouring_rungs_stay_apart_and_sizes_never_grow_downwards() -> None:
    flat = [pt(BIG, 1000, 90), pt(BIG, 1100, 99), pt(SMALL, 1000, 95), pt(SMALL, 1050, 96)]
    low, mid, top = choose_rungs(flat, FIXED, target_vmaf=93)
    assert mid.kbps <= round(top.kbps * MAX_STEP_RATIO)
    assert low.kbps <= round(mid.kbps * MAX_STEP_RATIO)
    assert low.width * low.height <= mid.width * mid.height <= top.width * top.height


def test_a_target_out_of_reach_takes_the_best_probe() -> None:
    top = choose_rungs(POINTS, FIXED, target_vmaf=99)[-1]
    assert (top.width, top.height, top.kbps, top.predicted_vmaf) == (*BIG, 3200, 96)


def test_each_rung_can_aim_at_its_own_score() -> None:
    # the benchmark's equal-quality run: each rung aims at the fixed rung's score
    low, mid, top = choose_rungs(POINTS, FIXED, target_vmaf=50, aims=[75, 85, 92])
    assert (top.width, top.height, top.kbps, top.predicted_vmaf) == (*BIG, 1600, 92)
    assert (mid.width, mid.height, mid.kbps, mid.predicted_vmaf) == (*SMALL, 800, 85)
    assert (low.width, low.height) == SMALL
    assert low.kbps == round(200 * 2**0.5) and low.predicted_vmaf == pytest.approx(75, abs=0.05)


def test_an_aim_above_every_probe_within_the_cap_takes_the_best_of_those() -> None:
    # the middle rung went to the small size; the low rung's 88 is out of its reach (87 at
    # most): the small size's best probe, held under the rung above, never the big size
    low, mid, _ = choose_rungs(POINTS, FIXED, aims=[88, 85, 96])
    assert (mid.width, mid.height) == SMALL
    assert (low.width, low.height) == SMALL
    assert low.kbps == round(mid.kbps * MAX_STEP_RATIO)
    assert low.predicted_vmaf < 88
    with pytest.raises(ValueError, match="one aim per rung"):
        choose_rungs(POINTS, FIXED, aims=[80, 90])


def test_no_rung_or_no_point_is_refused() -> None:
    with pytest.raises(ValueError, match="no rung"):
        choose_rungs(POINTS, [])
    with pytest.raises(ValueError, match="no probe"):
        choose_rungs([], FIXED)


# One size's probes: CRF 20/26/32/38 -> kbps, VMAF.
PROBES = [pt(BIG, 4000, 97, 20), pt(BIG, 2000, 93, 26), pt(BIG, 1000, 86, 32), pt(BIG, 500, 76, 38)]


def test_crf_at_interpolates_between_probes_in_log_bitrate_and_stays_in_range() -> None:
    assert crf_at(PROBES, 2000) == 26
    assert crf_at(PROBES, 2 ** ((math.log2(2000) + math.log2(1000)) / 2)) == pytest.approx(29)
    assert crf_at(PROBES, 250) == 44  # beyond the cheapest probe: along the end segment
    assert crf_at(PROBES, 1) == 51
    assert kbps_at_crf(PROBES, 29) == round(2 ** ((math.log2(2000) + math.log2(1000)) / 2))


def test_corrected_crf_averages_the_shifted_curve_and_the_secant() -> None:
    # Encoded at CRF 29 (probes: 89.5 there), scored 88.5 where 93 was wanted. (a) the
    # curve 1 lower everywhere: where the probes score 94, 26 - 6 / 4 = 24.5; (b) the
    # secant to the CRF 26 probe (93): 26. Their mean:
    assert corrected_crf(PROBES, 29, 88.5, 93) == pytest.approx((24.5 + 26) / 2)
    # A wrong CRF, the probes right (scored what they say at CRF 32): both give 26.
    assert corrected_crf(PROBES, 32, 86, 93) == pytest.approx(26)
    # Too good (91.5 at 29, 89.5 expected), 91 wanted: (a) where the probes score 89,
    # 26 + 6 * 4 / 7; (b) the secant to the CRF 32 probe (86), 29 + 3 * 0.5 / 5.5.
    both = (26 + 24 / 7 + 29 + 1.5 / 5.5) / 2
    assert corrected_crf(PROBES, 29, 91.5, 91) == pytest.approx(both, abs=0.01)


def test_corrected_crf_beyond_every_probe_follows_the_shifted_curve_and_is_bounded() -> None:
    # 99 wanted, no probe reaches it: the curve shifted by the error, its end segment.
    found = corrected_crf(PROBES, 20, 96, 99)
    assert found < 20
    assert corrected_crf(PROBES, 38, 20, 99) == 38 - MAX_CRF_STEP
    with pytest.raises(ValueError):
        corrected_crf([], 20, 90, 93)


def test_choose_rungs_gives_each_rung_the_crf_of_its_chosen_rate() -> None:
    [choice] = choose_rungs(PROBES, [rung(0, BIG, 3000)], target_vmaf=93)
    assert (choice.kbps, choice.crf, choice.predicted_vmaf) == (2000, 26, 93)
