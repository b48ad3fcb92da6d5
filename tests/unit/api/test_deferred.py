"""``GET /v1/deferred-triggers``: an account's deferred workflow starts, oldest first, in
keyset pages; another account's are never shown."""

from __future__ import annotations

from reelflow.catalog.triggered import TriggerKey
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient


def test_deferred_starts_are_listed_by_account_in_pages(
    client: TestClient, runtime: ServerServices, admin: Key, bob: Key
) -> None:
    deferred = runtime.triggers.deferred
    assert deferred is not None
    for name in ("a", "b", "c"):
        deferred.defer(admin.account_id, TriggerKey(7, "media", f"in/{name}.mp4", "v1"))
    deferred.defer(bob.account_id, TriggerKey(8, "bob-media", "in/x.mp4", "v1", schedule=True))

    first = client.get("/v1/deferred-triggers?limit=2", headers=admin.headers).json()
    assert [d["key"] for d in first["deferred"]] == ["in/a.mp4", "in/b.mp4"]
    assert first["deferred"][0]["workflow_id"] == 7 and first["deferred"][0]["version"] == "v1"
    after = first["next_after"]
    rest = client.get(f"/v1/deferred-triggers?limit=2&after={after}", headers=admin.headers)
    assert [d["key"] for d in rest.json()["deferred"]] == ["in/c.mp4"]
    assert rest.json()["next_after"] is None

    [bobs] = client.get("/v1/deferred-triggers", headers=bob.headers).json()["deferred"]
    assert (bobs["bucket"], bobs["schedule"]) == ("bob-media", True)
