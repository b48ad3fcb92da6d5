"""S3 buckets on moto's server, configured through reelflow.toml, with real FFmpeg: an object
uploaded to one S3 bucket starts its workflow (event receiver, poller, object API) and the
outputs appear in another S3 bucket with the right names and sizes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from reelflow.config import load_settings
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.integration.triggers.common import add_workflow, run_all, succeeded, tasks
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

HOOK_TOKEN = "hook-secret-0123456789"


@dataclass
class Stores:
    src: str
    out: str
    pol: str


def bucket_toml(name: str, moto: MotoServer, s3_bucket: str, **extra: Any) -> str:
    lines = [
        f"[buckets.{name}]",
        'backend = "s3"',
        f'endpoint = "{moto.endpoint}"',
        f'region = "{REGION}"',
        f'bucket = "{s3_bucket}"',
        f'access_key = "{ACCESS_KEY}"',
        f'secret_key = "{SECRET_KEY}"',
        "max_attempts = 2",
        *(f"{key} = {json.dumps(value)}" for key, value in extra.items()),
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def stores(moto: MotoServer) -> Stores:
    return Stores(moto.create_bucket("src"), moto.create_bucket("out"), moto.create_bucket("pol"))


@pytest.fixture
def data_dir(tmp_path: Path, moto: MotoServer, stores: Stores) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "reelflow.toml").write_text(
        'video_preset = "ultrafast"\nworkers = 2\n'
        + bucket_toml("src", moto, stores.src, events=True, hook_token=HOOK_TOKEN)
        + bucket_toml("out", moto, stores.out, events=True)
        + bucket_toml("pol", moto, stores.pol, poll_interval=0)
    )
    return data_dir


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[ServerServices]:
    with build_server(load_settings(data_dir=data_dir)) as rt:
        yield rt


def event(s3_bucket: str, key: str, etag: str) -> dict[str, Any]:
    """What MinIO's webhook target posts for a PUT."""
    return {
        "EventName": "s3:ObjectCreated:Put",
        "Key": f"{s3_bucket}/{key}",
        "Records": [
            {
                "eventVersion": "2.0",
                "eventSource": "minio:s3",
                "eventName": "s3:ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": s3_bucket},
                    "object": {"key": quote_plus(key, safe="/"), "eTag": etag, "sequencer": "1"},
                },
            }
        ],
    }


def output_sizes(moto: MotoServer, s3_bucket: str) -> dict[str, int]:
    listing = moto.client().list_objects_v2(Bucket=s3_bucket)
    return {item["Key"]: item["Size"] for item in listing.get("Contents", [])}


def test_s3_event_runs_the_workflow_into_another_bucket(
    runtime: ServerServices, moto: MotoServer, stores: Stores, clips: ClipCache
) -> None:
    names = [t.name for t in runtime.triggers.triggers]
    assert names == ["deferred-starts", "watch:media"]  # events: no poller
    workflow = add_workflow(runtime, "src", output_bucket="out")
    client = moto.client()
    key = "up/My clip.mp4"
    client.put_object(Bucket=stores.src, Key=key, Body=clips(duration=2.0).read_bytes())
    etag = client.head_object(Bucket=stores.src, Key=key)["ETag"].strip('"')

    with TestClient(create_app(runtime)) as api:
        auth = {"Authorization": f"Bearer {HOOK_TOKEN}"}
        answer = api.post("/v1/hooks/s3", json=event(stores.src, key, etag), headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(t["bucket"], t["key"], t["workflow_id"]) for t in body["started"]] == [
            ("src", key, workflow.id)
        ]
        again = api.post("/v1/hooks/s3", json=event(stores.src, key, etag), headers=auth).json()
        assert again["started"] == []
        assert [t["task_id"] for t in again["duplicates"]] == [body["started"][0]["task_id"]]

    (done,) = run_all(runtime)
    assert succeeded(done), [(s.err_code, s.message) for s in done.subtasks]
    sizes = output_sizes(moto, stores.out)
    transcode, snapshot = (sub.output for sub in done.subtasks)
    assert transcode is not None and snapshot is not None
    assert transcode["Path"] == "/up/My clip_transcode_100010.mp4"
    assert sizes["up/My clip_transcode_100010.mp4"] == transcode["Size"] > 1000
    assert [p["Path"] for p in snapshot["PicInfoSet"]] == [
        "/up/My clip_snapshotByTimeOffset_10_0.jpg",
        "/up/My clip_snapshotByTimeOffset_10_1.jpg",
    ]
    assert sorted(sizes) == [
        "up/My clip_snapshotByTimeOffset_10_0.jpg",
        "up/My clip_snapshotByTimeOffset_10_1.jpg",
        "up/My clip_transcode_100010.mp4",
    ]
    assert all(size > 0 for size in sizes.values())
    assert list(output_sizes(moto, stores.src)) == [key]  # nothing written to the source


def test_hook_authentication(runtime: ServerServices, moto: MotoServer, stores: Stores) -> None:
    add_workflow(runtime, "src", output_bucket="out")
    bob = runtime.accounts.create_key("bob")
    assert runtime.admin_key is not None
    body = event(stores.src, "up/a.mp4", "0" * 32)
    with TestClient(create_app(runtime)) as api:
        assert api.post("/v1/hooks/s3", json=body).status_code == 401
        wrong = {"Authorization": "Bearer not-a-token"}
        assert api.post("/v1/hooks/s3", json=body, headers=wrong).status_code == 401
        other = {"Authorization": f"Bearer {bob.secret_key}"}
        refused = api.post("/v1/hooks/s3", json=body, headers=other)
        assert refused.status_code == 403
        assert "src" in refused.json()["error"]["message"]
        owner = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
        accepted = api.post("/v1/hooks/s3", json=body, headers=owner)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["started"] != []  # the version comes from the event
        bare = {"Authorization": HOOK_TOKEN}  # some MinIO versions send the token bare
        unknown = event("someone-elses-bucket", "up/a.mp4", "1" * 32)
        ignored = api.post("/v1/hooks/s3", json=unknown, headers=bare).json()
        assert ignored["started"] == [] and ignored["ignored"][0]["record"] == 0
        malformed = api.post("/v1/hooks/s3", content=b"{nope", headers=bare)
        assert malformed.status_code == 400
    assert len(tasks(runtime)) == 1


def test_poller_fires_new_objects_once(
    runtime: ServerServices, data_dir: Path, moto: MotoServer, stores: Stores, clips: ClipCache
) -> None:
    from reelflow.storage.s3.backend import S3Storage
    from reelflow.triggers.s3_poll import S3Poller

    add_workflow(runtime, "pol", output_bucket="out")
    client = moto.client()
    client.put_object(Bucket=stores.pol, Key="up/before.mp4", Body=b"was there before")
    storage = runtime.storages.get("pol")
    assert isinstance(storage, S3Storage)
    poller = S3Poller(storage, runtime.triggers.dispatcher, runtime.triggers.ledger)

    assert poller.poll_once() == []  # the first listing only sets the floor
    client.put_object(Bucket=stores.pol, Key="up/new.mp4", Body=clips(duration=1.0).read_bytes())
    client.put_object(Bucket=stores.pol, Key="elsewhere/x.mp4", Body=b"not under up/")
    (fired,) = poller.poll_once()
    assert (fired.key, fired.new) == ("up/new.mp4", True)
    assert poller.poll_once() == []

    restarted = S3Poller(storage, runtime.triggers.dispatcher, runtime.triggers.ledger)
    assert [f.new for f in restarted.poll_once()] == [False]  # seen again, not started again
    (done,) = run_all(runtime)
    assert succeeded(done)
    assert "up/new_transcode_100010.mp4" in output_sizes(moto, stores.out)


def test_object_api_upload_to_s3_triggers(
    runtime: ServerServices, moto: MotoServer, stores: Stores, clips: ClipCache
) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    add_workflow(runtime, "src", output_bucket="out")
    app = create_app(runtime)
    app.state.on_upload = runtime.triggers.upload
    data = clips(duration=1.0).read_bytes()
    with TestClient(app) as api:
        put = api.put("/v1/buckets/src/objects/up/api.mp4", content=data, headers=headers)
        assert put.status_code == 200, put.text
        assert len(tasks(runtime)) == 1
        got = api.get(
            "/v1/buckets/src/objects/up/api.mp4", headers={**headers, "Range": "bytes=4-7"}
        )
        assert (got.status_code, got.content) == (206, b"ftyp")
        etag = put.json()["etag"]
        dup = api.post(
            "/v1/hooks/s3",
            json=event(stores.src, "up/api.mp4", etag),
            headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
        ).json()
        assert dup["started"] == [] and len(dup["duplicates"]) == 1  # same version, same task
