"""The trigger loop's pass over deferred starts: a workflow or schedule triggered while its
account was full (``max_queued_tasks``) starts once the account has room again.

Each pass goes over the accounts with deferred starts, asks the engine how many tasks each
may submit now, and resumes that many of its oldest deferred starts
(``NoticeDispatcher.resume``): the account's backlog drains as its tasks finish, oldest
upload first, and never refills past the limit. A pass reads one row per account with no
room, so it costs little while accounts stay full.
"""

from __future__ import annotations

import logging
import threading

from reelflow.catalog.deferred import DeferredTriggers
from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.engine.service import Engine
from reelflow.errors import ReelflowError
from reelflow.triggers.base import Trigger
from reelflow.triggers.dispatch import Fired, NoticeDispatcher

log = logging.getLogger(__name__)

BATCH = 100  # deferred starts resumed per account per pass, at most


class DeferredStarts(Trigger):
    """``DeferredStarts(dispatcher, deferred, engine, interval=2.0)``."""

    name = "deferred-starts"

    def __init__(
        self,
        dispatcher: NoticeDispatcher,
        deferred: DeferredTriggers,
        engine: Engine,
        *,
        interval: float = 2.0,
    ) -> None:
        self.interval = interval
        self._dispatcher = dispatcher
        self._deferred = deferred
        self._engine = engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = Outage(self.name, log, base=1.0, cap=30.0)

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
                self.resume_once()
            except DB_OUTAGES as exc:
                wait = min(30.0, self._outage.failed(exc))
            except ReelflowError as exc:
                log.warning("%s: a pass failed: %s", self.name, exc.message)
            else:
                self._outage.succeeded()
            if self._stop.wait(wait):
                return

    def resume_once(self) -> list[Fired]:
        """One pass; returns the starts it made."""
        fired: list[Fired] = []
        for account_id in self._deferred.accounts():
            room = self._engine.admission_room(account_id)
            if room == 0:
                continue
            for deferred in self._deferred.page(account_id, min(room, BATCH)):
                started = self._dispatcher.resume(deferred)
                if started is not None:
                    fired.append(started)
        return fired
