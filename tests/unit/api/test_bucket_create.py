"""PUT /v1/buckets/{bucket}: local buckets made through the API, per account, durable."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from reelflow.config import Settings
from reelflow.wiring.server import ServerServices, build_server
from tests.unit.api.conftest import Key, error_of


def test_create_then_use_then_survive_a_restart(
    client: TestClient, admin: Key, bob: Key, runtime: ServerServices, tmp_path: Path
) -> None:
    made = client.put("/v1/buckets/clips-2026", headers=bob.headers)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "clips-2026" and made.json()["backend"] == "local"

    put = client.put(
        "/v1/buckets/clips-2026/objects/in/a b.txt", content=b"hello", headers=bob.headers
    )
    assert put.status_code == 200
    got = client.get("/v1/buckets/clips-2026/objects/in/a b.txt", headers=bob.headers)
    assert got.content == b"hello"
    names = [b["name"] for b in client.get("/v1/buckets", headers=bob.headers).json()["buckets"]]
    assert "clips-2026" in names
    # Another account does not see it, and cannot take the name.
    assert client.get("/v1/buckets/clips-2026/objects", headers=admin.headers).status_code == 404
    taken = client.put("/v1/buckets/clips-2026", headers=admin.headers)
    assert taken.status_code == 409
    assert error_of(taken)["code"] == "FailedOperation.BucketAlreadyExists"

    # A new runtime on the same data dir still serves the bucket and its object.
    with build_server(Settings(data_dir=runtime.settings.data_dir)) as again:
        storage = again.storages.get("clips-2026")
        assert storage.read_bytes("in/a b.txt") == b"hello"
        assert again.buckets.owner("clips-2026") == bob.account_id


def test_bad_or_taken_names(client: TestClient, admin: Key) -> None:
    for name in ("UPPER", "-dash-first", "a" * 64, "sp ace"):
        response = client.put(f"/v1/buckets/{name}", headers=admin.headers)
        assert response.status_code == 400, (name, response.text)
        assert error_of(response)["code"] == "InvalidParameterValue.Bucket"
    taken = client.put("/v1/buckets/media", headers=admin.headers)
    assert taken.status_code == 409
