"""Triggers that make one pass every ``interval`` seconds in a thread of their own (the S3
poller's listing, the pass over deferred starts).

A pass that cannot reach the database backs off (``db.outage.Outage``: one log line when the
outage starts and one with its length when it ends); any other failure of a pass is logged
and the next pass comes on time. ``close()`` ends the thread between passes.
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod

from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.errors import ReelflowError
from reelflow.triggers.base import Trigger

log = logging.getLogger(__name__)


class PeriodicTrigger(Trigger):
    """A subclass sets ``name`` first, then calls ``super().__init__(interval)``, and makes
    one pass in :meth:`_pass`; ``failure`` words a failed pass in the log."""

    failure = "a pass failed"

    def __init__(self, interval: float, *, outage_cap: float = 30.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = Outage(self.name, log, base=1.0, cap=outage_cap)

    @abstractmethod
    def _pass(self) -> object:
        """One pass (what it returns is for callers of the subclass's own method)."""

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while True:
            wait = self.interval
            try:
                self._pass()
            except DB_OUTAGES as exc:
                # Nothing of the pass was recorded: the next one does it again.
                wait = self._outage.failed(exc)
            except ReelflowError as exc:
                log.warning("%s: %s: %s", self.name, self.failure, exc.message)
            else:
                self._outage.succeeded()
            if self._stop.wait(wait):
                return
