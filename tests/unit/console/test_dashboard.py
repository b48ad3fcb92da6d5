"""The dashboard's line about deferred workflow starts (issue 21): shown only when the
account has some, with their number."""

from __future__ import annotations

from reelflow.catalog.triggered import TriggerKey
from reelflow.wiring.server import ServerServices
from tests.unit.console.conftest import Console


def test_the_dashboard_counts_the_accounts_deferred_starts(
    console: Console, runtime: ServerServices
) -> None:
    assert "deferred" not in console.client.get("/console").text
    deferred = runtime.triggers.deferred
    assert deferred is not None
    for key in ("in/a.mp4", "in/b.mp4"):
        deferred.defer(runtime.admin_account.id, TriggerKey(1, "media", key, "v1"))
    deferred.defer(runtime.admin_account.id + 1, TriggerKey(1, "media", "in/c.mp4", "v1"))

    page = console.client.get("/console").text
    assert 'data-deferred="2"' in page
    assert "2 workflow starts deferred" in page
    live = console.client.get("/console/dashboard/live").text
    assert 'data-deferred="2"' in live
