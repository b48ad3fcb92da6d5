"""When a failed delivery is tried again.

Exponential with jitter: the n-th failure waits ``base * 2**(n-1)``, capped at ``cap``,
then scaled by a random factor in [0.5, 1] ("equal jitter"), so that deliveries that
failed together (a receiver that was down) do not all come back in the same instant,
while a delay never drops below half its nominal value.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    base: float = 1.0  # seconds before the second attempt (before jitter)
    cap: float = 600.0  # the longest wait between two attempts
    total: float = 24 * 3600.0  # how long after the event (or a replay) to keep trying

    def nominal(self, failures: int) -> float:
        """The delay after ``failures`` (>= 1) failed attempts, before jitter."""
        exponent = min(max(failures - 1, 0), 62)  # 2**62 s is already far past any cap
        return float(min(self.cap, self.base * 2.0**exponent))

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        nominal = self.nominal(failures)
        return nominal / 2 + nominal / 2 * rand()

    def next_attempt(
        self,
        failures: int,
        now: datetime,
        give_up_at: datetime,
        rand: Callable[[], float] = random.random,
    ) -> datetime | None:
        """When to try again after ``failures`` failures; ``None``: give up (dead).

        The last try is made at ``give_up_at`` itself rather than skipped.
        """
        if now >= give_up_at:
            return None
        return min(now + timedelta(seconds=self.delay(failures, rand)), give_up_at)
