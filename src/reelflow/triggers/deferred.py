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

from reelflow.catalog.deferred import DeferredTriggers
from reelflow.engine.service import Engine
from reelflow.triggers.dispatch import Fired, NoticeDispatcher
from reelflow.triggers.periodic import PeriodicTrigger

log = logging.getLogger(__name__)

BATCH = 100  # deferred starts resumed per account per pass, at most


class DeferredStarts(PeriodicTrigger):
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
        self._dispatcher = dispatcher
        self._deferred = deferred
        self._engine = engine
        super().__init__(interval)

    def _pass(self) -> list[Fired]:
        return self.resume_once()

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
