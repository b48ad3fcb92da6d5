"""Capped exponential backoff with jitter, and a deadline to keep trying within.

Used wherever reelflow waits for a dependency to come back: a job fetching its source or
committing its outputs waits a little inside the attempt (:class:`Patience`); the engine
then requeues the job within the outage budget (``reelflow.engine.outages``).

Jitter is "equal jitter": each delay is drawn from ``[d/2, d)`` of its nominal value ``d``,
so processes that failed together do not come back together, yet still wait at least half.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

Rand = Callable[[], float]  # uniform in [0, 1)


def jittered(delay: float, rand: Rand = random.random) -> float:
    """``delay`` scaled by a random factor in ``[0.5, 1)``."""
    return delay * (0.5 + 0.5 * rand())


def exponential(failures: int, *, base: float, cap: float) -> float:
    """The nominal delay after ``failures`` (>= 1) consecutive failures: ``base``,
    ``2 base``, ``4 base``... never more than ``cap``."""
    if failures < 1:
        return 0.0
    # min() on the exponent first: 2**failures overflows a float past about 1,000 failures.
    return min(cap, base * 2.0 ** min(failures - 1, 64))


class Patience:
    """Retries of one operation within ``seconds``: after each failure call :meth:`wait`,
    which sleeps the next jittered, capped exponential delay and returns True, or returns
    False at once when that sleep would end past the deadline (give up and raise).

    The clock (monotonic seconds), ``sleep`` and ``rand`` are injectable for tests.
    """

    def __init__(
        self,
        seconds: float,
        *,
        base: float = 0.25,
        cap: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rand: Rand = random.random,
    ) -> None:
        self.seconds = seconds
        self.base = base
        self.cap = cap
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._deadline = clock() + seconds
        self.failures = 0

    def wait(self) -> bool:
        """Count a failure; sleep before the next try and return True, or return False if
        the deadline has come (or the next try would start after it)."""
        self.failures += 1
        delay = jittered(exponential(self.failures, base=self.base, cap=self.cap), self._rand)
        if self._clock() + delay > self._deadline:
            return False
        self._sleep(delay)
        return True

    def reset(self) -> None:
        """Progress was made: the outage (if any) is over, so the next failure starts again
        from ``base`` with a new deadline ``seconds`` away."""
        self.failures = 0
        self._deadline = self._clock() + self.seconds
