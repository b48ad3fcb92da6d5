"""Recording finished jobs' results several to a transaction (a group commit).

A result recorded alone costs a transaction of its own: locks, flush, commit. ``Results``
lets results that arrive together share one (``Engine.finish_many``): a reporter that finds
no recording under way records every result waiting (its own and others'), and reporters
that arrive meanwhile wait for it and are recorded together next. Each reporter returns once
its own result is committed, or raises what recording it raised, exactly as if it had
recorded it alone: a result is never acknowledged before its commit.

A batch is all or nothing. An outage (``DB_OUTAGES``) fails the whole batch: each reporter
gets it and reports again later, and the jobs stay RUNNING under their leases meanwhile. Any
other error (a bug in applying one result) must not cost the others their record: the batch
is then recorded again one result per transaction, and only the faulty one fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from reelflow.db.outage import DB_OUTAGES
from reelflow.engine.events import Report

logger = logging.getLogger(__name__)

# At most this many results to a transaction: a batch's locks are held until its commit.
MAX_BATCH = 64

FinishMany = Callable[[Sequence[Report]], list[bool]]


class _Entry:
    __slots__ = ("done", "error", "report")

    def __init__(self, report: Report) -> None:
        self.report = report
        self.done = False
        self.error: BaseException | None = None


class Results:
    """``Results(finish_many)``: records reports through ``finish_many`` (the engine's), in
    batches of the reports waiting at the time. Safe to call from any thread."""

    def __init__(self, finish_many: FinishMany) -> None:
        self._finish_many = finish_many
        self._cond = threading.Condition()
        self._queue: list[_Entry] = []
        self._recording = False

    def record(self, reports: Sequence[Report]) -> list[BaseException | None]:
        """Record ``reports`` (with whatever else is waiting); returns once each is either
        committed (``None``) or failed (the exception, an outage or another error)."""
        entries = [_Entry(report) for report in reports]
        with self._cond:
            self._queue.extend(entries)
            while not all(entry.done for entry in entries):
                if self._recording:
                    self._cond.wait()
                    continue
                self._recording = True
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                self._cond.release()
                try:
                    self._apply(batch)
                finally:
                    self._cond.acquire()
                    self._recording = False
                    self._cond.notify_all()
        return [entry.error for entry in entries]

    def _apply(self, batch: list[_Entry]) -> None:
        try:
            try:
                self._finish_many([entry.report for entry in batch])
            except DB_OUTAGES as exc:
                for entry in batch:
                    entry.error = exc
            except Exception as exc:
                if len(batch) == 1:
                    batch[0].error = exc
                else:
                    logger.warning(
                        "recording %d results together failed (%s); recording them one by one",
                        len(batch),
                        exc,
                    )
                    for entry in batch:
                        try:
                            self._finish_many([entry.report])
                        except Exception as one:
                            entry.error = one
        except BaseException as exc:  # (KeyboardInterrupt...): no reporter may wait forever
            for entry in batch:
                entry.error = entry.error or exc
            raise
        finally:
            for entry in batch:
                entry.done = True
