"""Capped exponential backoff with jitter, and patience within a deadline (controlled clock)."""

from __future__ import annotations

import pytest

from reelflow.backoff import Patience, exponential, jittered


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_exponential_doubles_up_to_the_cap() -> None:
    assert [exponential(n, base=0.5, cap=3) for n in range(0, 6)] == [0, 0.5, 1, 2, 3, 3]
    assert exponential(10_000, base=1, cap=60) == 60  # no overflow


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 5.0), (0.5, 7.5), (0.999, 9.995)])
def test_jitter_keeps_at_least_half(rand: float, expected: float) -> None:
    assert jittered(10, lambda: rand) == pytest.approx(expected)


def test_patience_sleeps_growing_delays_until_the_deadline() -> None:
    clock = Clock()
    patience = Patience(10, base=1, cap=4, clock=clock, sleep=clock.sleep, rand=lambda: 0.999999)
    waits = []
    while patience.wait():
        waits.append(round(clock.slept[-1], 3))
    assert waits == [1, 2, 4]  # the next, 4 s, would end at 11 s: past the deadline
    assert clock.now - 100 == pytest.approx(7, abs=0.01)


def test_patience_of_zero_never_waits() -> None:
    clock = Clock()
    assert not Patience(0, clock=clock, sleep=clock.sleep).wait()
    assert clock.slept == []


def test_progress_resets_the_backoff_and_the_deadline() -> None:
    clock = Clock()
    patience = Patience(3, base=1, cap=8, clock=clock, sleep=clock.sleep, rand=lambda: 0.999999)
    assert patience.wait() and patience.wait()  # 1 s + 2 s: the deadline is reached
    assert not patience.wait()
    patience.reset()
    assert patience.wait()
    assert round(clock.slept[-1], 3) == 1
