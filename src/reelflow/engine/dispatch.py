"""``DispatchWatch``: the scheduler's judgement of whether anyone reads the queue it feeds.

With workers that report to the engine themselves (``celery``), a job sent to the broker
starts when a worker *adopts* its claim. If no worker reads the queue (every worker down,
or their consumers dead), sent jobs would wait there until their dispatch lease expires
(``dispatch_timeout``), each expiry costing an attempt, while the scheduler kept sending.
The watch notices much sooner:

- **stalled**: some claims have waited ``stall_seconds`` unadopted, none of this scheduler's
  claims is running on a worker, and none was adopted or ended for ``stall_seconds``.
  Workers busy with this scheduler's jobs are not a stall: they will come back for more.
- then the scheduler hands the waiting claims back (no attempt used; their messages become
  stale and a worker that reads them later drops them), logs once, and **probes**: at most
  one job in flight, re-sent after ``interval`` s (doubling up to ``probe_cap``) while no
  worker takes it;
- as soon as any claim is adopted or ends, dispatch **resumes** at full speed (and logs how
  long the pause lasted).

The watch only decides; the scheduler queries the engine and acts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

PROBE_CAP = 60.0


@dataclass
class Review:
    """What the scheduler does after a check: hand ``hand_back`` claims back."""

    hand_back: list[str] = field(default_factory=list)


class DispatchWatch:
    """``DispatchWatch(stall_seconds, queue=)``; see the module docstring."""

    def __init__(
        self,
        stall_seconds: float,
        *,
        queue: str,
        probe_cap: float = PROBE_CAP,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.stall = stall_seconds
        self._cap = min(probe_cap, PROBE_CAP)
        self.queue = queue
        self._clock = clock or time.monotonic
        self._last_progress = self._clock()
        self._adopted: set[str] = set()
        self.paused_since: float | None = None
        self.pauses = 0
        self._interval = self._first_interval()
        self._probe_after = 0.0  # no probe before this (monotonic)

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    @property
    def check_every(self) -> float:
        """How often the scheduler should ``review`` its claims."""
        return max(0.5, min(5.0, self.stall / 4))

    def _first_interval(self) -> float:
        return max(1.0, self.stall / 2)

    def progressed(self) -> None:
        """A claim was adopted or ended: someone reads the queue."""
        self._last_progress = self._clock()
        if self.paused_since is not None:
            logger.warning(
                "queue %s is read again after %.0f s: dispatch resumed",
                self.queue,
                self._clock() - self.paused_since,
            )
            self.paused_since = None
            self._interval = self._first_interval()

    def forget(self, job_id: str) -> None:
        self._adopted.discard(job_id)

    def review(self, sent: Mapping[str, float], waiting: set[str]) -> Review:
        """Judge the claims in flight: ``sent`` (job id -> monotonic time sent) and which of
        them no worker has adopted (``waiting``)."""
        now = self._clock()
        adopted = set(sent) - waiting
        if adopted - self._adopted:
            self._adopted |= adopted
            self.progressed()
        self._adopted &= adopted
        if self.paused_since is not None:
            return self._probe(sent, waiting, now)
        old = [job for job in waiting if now - sent[job] >= self.stall]
        if not old or adopted or now - self._last_progress < self.stall:
            return Review()
        self.paused_since = now
        self.pauses += 1
        self._probe_after = now + self._interval
        logger.warning(
            "queue %s: %d job(s) sent but none started for %.0f s; no worker reads it: "
            "jobs handed back, one job re-sent every %.0f-%.0f s until a worker takes it",
            self.queue,
            len(waiting),
            now - max(self._last_progress, min(sent.values())),
            self._interval,
            max(self._cap, self._interval),
        )
        return Review(hand_back=sorted(waiting))

    def _probe(self, sent: Mapping[str, float], waiting: set[str], now: float) -> Review:
        # The probe waited a full interval unadopted: take it back, wait longer next time.
        late = [job for job in waiting if now - sent[job] >= self._interval]
        if late:
            self._probe_after = now
            self._interval = min(self._interval * 2, max(self._cap, self._first_interval()))
        return Review(hand_back=sorted(late))

    def room(self, free: int, in_flight: int) -> int:
        """How many of ``free`` slots may be filled now."""
        if self.paused_since is None:
            return free
        if in_flight or self._clock() < self._probe_after:
            return 0
        return min(free, 1)
