"""How a background loop rides out a database outage: back off, and say so twice.

Every loop that touches the database (the scheduler, the notification dispatcher, the
trigger watchers and pollers, a worker's lease heartbeat and result report) keeps one
``Outage`` and calls ``failed(exc)`` when a round raised one of ``DB_OUTAGES`` and
``succeeded()`` when a round worked. The loop then logs exactly one line when the outage
starts and one, with its length, when it ends, however many rounds failed in between, and
waits ``failed``'s answer before the next round: capped exponential with jitter, so a
database that comes back is not met by every process of a cluster in the same instant.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from reelflow.backoff import exponential, jittered
from reelflow.errors import DatabaseUnavailable, DiskFull

# What a database call raises when the database cannot take it now and waiting helps: it
# is unreachable, or the disk under its (SQLite) file is full until someone frees space.
DB_OUTAGES: tuple[type[Exception], ...] = (DatabaseUnavailable, DiskFull)

T = TypeVar("T")


class Outage:
    """``Outage(what, logger)``: the state of one loop's dependency; thread-safe.

    ``base`` is the first wait, doubled each failure up to ``cap``; each wait is scaled by a
    random factor in [0.5, 1] ("equal jitter").
    """

    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        base: float = 0.2,
        cap: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.what = what
        self._logger = logger
        self._base = base
        self._cap = cap
        self._clock = clock
        self._rand = rand
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0

    @property
    def down(self) -> bool:
        """Whether the last round failed (an outage is in progress)."""
        with self._lock:
            return self._since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failed round; returns how long to wait before the next one."""
        with self._lock:
            first = self._since is None
            if first:
                self._since = self._clock()
            self._failures += 1
            failures = self._failures
        if first:
            self._logger.warning(
                "%s: the database is unavailable (%s); retrying with backoff until it is back",
                self.what,
                exc,
            )
        return jittered(exponential(failures, base=self._base, cap=self._cap), self._rand)

    def succeeded(self) -> float | None:
        """Record a round that worked; returns the outage's length if one just ended."""
        with self._lock:
            since, failures = self._since, self._failures
            self._since = None
            self._failures = 0
        if since is None:
            return None
        length = self._clock() - since
        self._logger.warning(
            "%s: the database is back after %.1f s (%d failed round(s))",
            self.what,
            length,
            failures,
        )
        return length


def until_reachable(
    action: Callable[[], T], outage: Outage, *, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``action()``, tried again after each backoff while it raises one of ``DB_OUTAGES``:
    for start-up steps (migrating, the first account) of a process whose database may still
    be starting or failing over. ``outage`` logs one line when the wait starts and one when
    it ends; any other error propagates at once."""
    while True:
        try:
            result = action()
        except DB_OUTAGES as exc:
            sleep(outage.failed(exc))
            continue
        outage.succeeded()
        return result


class Throttled:
    """A log line at most once every ``every`` seconds: for places that see an outage per
    request (the API) and have no round that tells when it ends."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")
        self.suppressed = 0

    def allow(self) -> int | None:
        """``None`` if a line was logged less than ``every`` s ago; else how many lines
        were suppressed since the last one (the caller logs now)."""
        now = self._clock()
        with self._lock:
            if now < self._next:
                self.suppressed += 1
                return None
            self._next = now + self._every
            suppressed, self.suppressed = self.suppressed, 0
            return suppressed
