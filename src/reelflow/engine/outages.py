"""The outage budget: how a job that failed because a dependency was away is tried again.

A failure whose code is an outage class (``StorageError.Unavailable``: a bucket's store or
the network to it was away) is not the job's fault, so it does not use up an attempt: the
job goes back to the queue (``max_attempts`` grows by one, as for an interrupted attempt,
so ``attempt`` stays a fencing token) after a backoff, until the outage has lasted longer
than ``outage_budget_seconds``. Then the job fails with the outage's code and a message
that says for how long the dependency was away. ``Job.outage_since`` records when the
job's current outage started; any other outcome ends it.

A broker outage is met by the scheduler, not by a job: a job that could not be sent is
handed back to the queue (no attempt used) while ``SendOutage`` counts how long sends have
been failing; past the same budget the jobs that could not be sent fail with
``ResourceUnavailable.Broker`` instead.

The backoff waits about as long as the outage has lasted so far (so waits double: 1 s,
2 s, 4 s... like capped exponential backoff, without a counter), at most ``OUTAGE_CAP``,
jittered to spread jobs that failed together, and never past the end of the budget: the
last try is made when the budget runs out, and a failure then fails the job.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from reelflow.backoff import Rand, jittered
from reelflow.errors import StorageUnavailable

OUTAGE_CODES = frozenset({StorageUnavailable.code})
OUTAGE_BASE = 1.0
# Small enough that a job is back within about half a minute of the dependency's return.
OUTAGE_CAP = 20.0
# A send failing this long after the previous failed one starts a new broker outage: while
# jobs wait, a scheduler tries again every 10 s at most, so the broker was back meanwhile.
SEND_OUTAGE_GAP = 60.0


def is_outage(code: str) -> bool:
    """Whether a failure with ``code`` means a dependency was away (not the job's fault)."""
    return code in OUTAGE_CODES


def outage_delay(elapsed: float, budget: float, rand: Rand = random.random) -> float:
    """Seconds to wait before the next try, ``elapsed`` s into an outage (budget ``budget`` s)."""
    nominal = min(OUTAGE_CAP, max(OUTAGE_BASE, elapsed))
    return max(0.0, min(jittered(nominal, rand), budget - elapsed))


@dataclass(frozen=True)
class OutageDecision:
    """What to do with a job that failed with an outage code: ``retry_in`` (requeue after
    it) or ``None`` (the budget is spent: fail, with ``message``)."""

    since: datetime
    retry_in: timedelta | None
    message: str


def decide(
    since: datetime | None,
    now: datetime,
    budget: float,
    message: str,
    rand: Rand = random.random,
) -> OutageDecision:
    """The decision for a failure at ``now`` of a job whose outage started at ``since``
    (``None``: this failure starts it); ``message`` is the failure's own."""
    start = since if since is not None and since <= now else now
    elapsed = (now - start).total_seconds()
    if elapsed >= budget:
        return OutageDecision(
            start,
            None,
            f"{message} (unavailable for {_span(elapsed)}, longer than the outage budget of "
            f"{_span(budget)})",
        )
    delay = outage_delay(elapsed, budget, rand)
    return OutageDecision(start, timedelta(seconds=delay), message)


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class SendOutage:
    """How long one scheduler's sends to the executor have been failing (the broker's
    outage as it sees it): ``failed`` at each failed send gives the decision for the jobs
    that could not be sent (hand back, or fail past ``budget`` s); ``sent`` ends it."""

    def __init__(self, budget: float) -> None:
        self._budget = budget
        self._since: datetime | None = None
        self._last: datetime | None = None

    def failed(self, now: datetime, message: str) -> OutageDecision:
        last, self._last = self._last, now
        if self._since is None or last is None or (now - last).total_seconds() > SEND_OUTAGE_GAP:
            self._since = now
        return decide(self._since, now, self._budget, message)

    def sent(self) -> None:
        self._since = self._last = None
