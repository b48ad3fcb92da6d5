"""Exponential backoff with jitter, bounded in total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reelflow.notify.backoff import Backoff

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_the_nominal_delay_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=60.0)
    assert [backoff.nominal(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.nominal(10_000) == 60.0  # no overflow


def test_jitter_keeps_each_delay_between_half_and_all_of_its_nominal_value() -> None:
    backoff = Backoff(base=2.0, cap=100.0)
    assert backoff.delay(3, rand=lambda: 0.0) == 4.0
    assert backoff.delay(3, rand=lambda: 1.0) == 8.0
    assert backoff.delay(3, rand=lambda: 0.5) == 6.0


def test_retries_stop_at_the_bound_with_a_last_try_at_the_bound() -> None:
    backoff = Backoff(base=1.0, cap=600.0, total=10.0)
    give_up = T0 + timedelta(seconds=10)
    assert backoff.next_attempt(1, T0, give_up, rand=lambda: 1.0) == T0 + timedelta(seconds=1)
    late = T0 + timedelta(seconds=9)
    assert backoff.next_attempt(5, late, give_up, rand=lambda: 1.0) == give_up
    assert backoff.next_attempt(6, give_up, give_up) is None


def test_the_default_schedule_spans_a_day() -> None:
    backoff = Backoff()
    assert backoff.total == 24 * 3600
    # Failures of a day-long outage: the waits reach the 10-minute cap after 11 tries.
    assert backoff.nominal(11) == 600.0 > backoff.nominal(10)
