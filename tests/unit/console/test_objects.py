"""Uploads and downloads through the session."""

from __future__ import annotations

import httpx
import pytest

from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import OTHER_BUCKET, UPLOAD_LIMIT, Key
from tests.unit.console.conftest import Console


def _put(console: Console, key: str, body: bytes, **headers: str) -> httpx.Response:
    return console.client.put(
        f"/console/buckets/media/objects/{key}",
        content=body,
        headers={"X-CSRF-Token": console.token, "Accept": "application/json", **headers},
    )


def test_upload_streams_into_the_bucket_and_fires_the_hook(
    console: Console, runtime: ServerServices
) -> None:
    seen: list[tuple[int, str, str]] = []
    console.client.app.state.on_upload = lambda *args: seen.append(args)  # type: ignore[attr-defined]
    body = bytes(range(256)) * 4096  # 1 MiB: above the JSON limit, within the upload limit
    done = _put(console, "in/clip.mp4", body, **{"Content-Type": "video/mp4"})
    assert done.status_code == 201, done.text
    assert runtime.storages.get("media").read_bytes("in/clip.mp4") == body
    assert seen == [(runtime.admin_account.id, "media", "in/clip.mp4")]


def test_upload_needs_the_csrf_header(console: Console) -> None:
    done = console.client.put("/console/buckets/media/objects/a.mp4", content=b"x")
    assert done.status_code == 403


def test_upload_over_the_limit_is_refused(console: Console) -> None:
    done = _put(console, "big.bin", b"x" * (UPLOAD_LIMIT + 1))
    assert done.status_code == 413


def test_another_accounts_bucket_is_not_found(console: Console, bob: Key) -> None:
    done = console.client.put(
        f"/console/buckets/{OTHER_BUCKET}/objects/a.mp4",
        content=b"x",
        headers={"X-CSRF-Token": console.token, "Accept": "application/json"},
    )
    assert done.status_code == 404


def test_download_supports_ranges_and_is_sandboxed(
    console: Console, runtime: ServerServices
) -> None:
    runtime.storages.get("media").put_bytes("out/a.jpg", b"0123456789")
    whole = console.client.get("/console/buckets/media/objects/out/a.jpg")
    assert whole.status_code == 200 and whole.content == b"0123456789"
    assert whole.headers["content-disposition"].startswith("inline")
    assert "sandbox" in whole.headers["content-security-policy"]
    part = console.client.get(
        "/console/buckets/media/objects/out/a.jpg", headers={"Range": "bytes=2-4"}
    )
    assert part.status_code == 206 and part.content == b"234"
    assert part.headers["content-range"] == "bytes 2-4/10"


def test_active_content_is_only_ever_an_attachment(
    console: Console, runtime: ServerServices
) -> None:
    runtime.storages.get("media").put_bytes("x.html", b"<script>alert(1)</script>")
    page = console.client.get("/console/buckets/media/objects/x.html")
    assert page.headers["content-disposition"].startswith("attachment")
    runtime.storages.get("media").put_bytes("y.jpg", b"x")
    download = console.client.get("/console/buckets/media/objects/y.jpg?download=1")
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''y.jpg"


def test_bucket_page_lists_folders_then_files(console: Console, runtime: ServerServices) -> None:
    storage = runtime.storages.get("media")
    for key in ("in/a.mp4", "in/deep/b.mp4", "out/c.jpg", "top.mp4"):
        storage.put_bytes(key, b"x")
    root = console.client.get("/console/buckets/media")
    assert 'data-folder="in/"' in root.text and 'data-folder="out/"' in root.text
    assert 'data-key="top.mp4"' in root.text and 'data-key="in/a.mp4"' not in root.text
    inner = console.client.get("/console/buckets/media?prefix=in/")
    assert 'data-folder="in/deep/"' in inner.text and 'data-key="in/a.mp4"' in inner.text


def test_delete_from_the_bucket_page(console: Console, runtime: ServerServices) -> None:
    runtime.storages.get("media").put_bytes("in/gone.mp4", b"x")
    done = console.post("/console/buckets/media/delete", {"key": "in/gone.mp4", "prefix": "in/"})
    assert done.status_code == 303
    assert not runtime.storages.get("media").exists("in/gone.mp4")


def test_a_failing_upload_hook_does_not_fail_the_upload(
    console: Console, runtime: ServerServices, caplog: pytest.LogCaptureFixture
) -> None:
    def hook(account: int, bucket: str, key: str) -> None:
        raise RuntimeError("trigger broke")

    console.client.app.state.on_upload = hook  # type: ignore[attr-defined]
    done = _put(console, "in/x.mp4", b"data")
    assert done.status_code == 201
    assert done.json() == {
        "bucket": "media",
        "key": "in/x.mp4",
        "size": 4,
        "etag": runtime.storages.get("media").stat("in/x.mp4").etag,
        "tasks": [],
        "deferred": [],
    }
    assert "trigger broke" in caplog.text


def test_an_unsatisfiable_range_is_refused(console: Console, runtime: ServerServices) -> None:
    runtime.storages.get("media").put_bytes("out/a.txt", b"0123456789")
    done = console.client.get(
        "/console/buckets/media/objects/out/a.txt", headers={"Range": "bytes=20-"}
    )
    assert done.status_code == 416
    assert done.headers["content-range"] == "bytes */10"
