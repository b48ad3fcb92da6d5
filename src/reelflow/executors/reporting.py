"""Reporting a finished job when the database may be away: the result is kept, not redone.

A job's result is worth more than the minutes of FFmpeg behind it. When recording it
raises one of ``DB_OUTAGES`` (the database unreachable, or its disk full) the executor
keeps the result in memory and tries again with backoff (``reelflow.db.outage.Outage``)
until the database is back or the executor is stopped. The engine keeps the claim
meanwhile: its sweep does not expire leases because of a database outage
(``reelflow.engine.scheduler``), and the record, once written, is applied only if the
claim is still current, so a late report is never applied twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from reelflow.db.outage import DB_OUTAGES, Outage


def report_until_recorded(
    record: Callable[[], object], stop: threading.Event, outage: Outage
) -> bool:
    """Call ``record`` until it returns without one of ``DB_OUTAGES``; ``False`` if
    ``stop`` was set first (the result is then dropped and the lease decides).

    Any other exception propagates: it is not an outage and would not heal by waiting.
    """
    while True:
        try:
            record()
        except DB_OUTAGES as exc:
            if stop.wait(outage.failed(exc)):
                return False
            continue
        outage.succeeded()
        return True
