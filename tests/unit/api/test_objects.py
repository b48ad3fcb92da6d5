"""``/v1/buckets``: upload, download with ranges, head, delete, listing, keys, isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import (
    OTHER_BUCKET,
    UPLOAD_LIMIT,
    Key,
    TestClient,
    error_of,
)

DATA = bytes(range(256)) * 40  # 10240 bytes
URL = "/v1/buckets/media/objects/"


def put(client: TestClient, key: Key, name: str, data: bytes = DATA) -> dict[str, object]:
    response = client.put(URL + name, content=data, headers=key.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_upload_then_download(client: TestClient, admin: Key, runtime: ServerServices) -> None:
    info = put(client, admin, "up/clip one.mp4")
    assert info["key"] == "up/clip one.mp4"
    assert info["size"] == len(DATA)
    assert info["content_type"] == "video/mp4"
    assert runtime.storages.get("media").read_bytes("up/clip one.mp4") == DATA
    response = client.get(URL + "up/clip%20one.mp4", headers=admin.headers)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{info["etag"]}"'
    assert response.headers["content-type"] == "video/mp4"


def test_upload_is_streamed_from_chunks(client: TestClient, admin: Key) -> None:
    def chunks() -> Iterator[bytes]:
        for i in range(50):
            yield bytes([i]) * 999

    response = client.put(URL + "streamed.bin", content=chunks(), headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["size"] == 50 * 999
    downloaded = client.get(URL + "streamed.bin", headers=admin.headers).content
    assert downloaded == b"".join(bytes([i]) * 999 for i in range(50))


def test_unicode_keys_are_fine(client: TestClient, admin: Key) -> None:
    put(client, admin, "视频/上传 1.mov")
    response = client.get(
        "/v1/buckets/media/objects", params={"prefix": "视频/"}, headers=admin.headers
    )
    assert [o["key"] for o in response.json()["objects"]] == ["视频/上传 1.mov"]


@pytest.mark.parametrize(
    "path",
    [
        "a/%2E%2E/b.mp4",
        "%2E%2E/escape.mp4",
        "a/%00b.mp4",
        "a%0Ab.mp4",
        "a%7Fb.mp4",
        "a%5Cb.mp4",
        "folder/",
        "a//b.mp4",
        "x" * 256,
        "/".join(["d" * 200] * 6),
    ],
    ids=[
        "dotdot",
        "leading-dotdot",
        "nul",
        "newline",
        "del",
        "backslash",
        "folder",
        "empty-segment",
        "long-segment",
        "too-long",
    ],
)
def test_bad_keys_are_400_with_the_reason(client: TestClient, admin: Key, path: str) -> None:
    for method in ("PUT", "GET", "DELETE"):
        response = client.request(method, URL + path, content=b"x", headers=admin.headers)
        assert response.status_code == 400, (method, response.text)
        error = error_of(response)
        assert error["code"] == "InvalidParameterValue.Key"
        assert "key" in str(error["message"])


@pytest.mark.parametrize(
    ("header", "status", "expected", "content_range"),
    [
        ("bytes=0-99", 206, DATA[:100], "bytes 0-99/10240"),
        ("bytes=100-", 206, DATA[100:], "bytes 100-10239/10240"),
        ("bytes=-10", 206, DATA[-10:], "bytes 10230-10239/10240"),
        ("bytes=10000-99999", 206, DATA[10000:], "bytes 10000-10239/10240"),
        ("bytes=-99999", 206, DATA, "bytes 0-10239/10240"),
        ("bytes=5-5", 206, DATA[5:6], "bytes 5-5/10240"),
        ("bytes=9-3", 200, DATA, None),  # invalid: ignored
        ("items=0-3", 200, DATA, None),  # another unit: ignored
        ("bytes=0-1,5-6", 200, DATA, None),  # several ranges: whole object
    ],
)
def test_range_reads(
    client: TestClient,
    admin: Key,
    header: str,
    status: int,
    expected: bytes,
    content_range: str | None,
) -> None:
    put(client, admin, "r.bin")
    response = client.get(URL + "r.bin", headers={**admin.headers, "Range": header})
    assert response.status_code == status
    assert response.content == expected
    assert response.headers["content-length"] == str(len(expected))
    assert response.headers.get("content-range") == content_range


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-30000", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(client: TestClient, admin: Key, header: str) -> None:
    put(client, admin, "r.bin")
    response = client.get(URL + "r.bin", headers={**admin.headers, "Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10240"
    assert error_of(response)["code"] == "InvalidParameterValue.Range"


def test_head_and_delete(client: TestClient, admin: Key) -> None:
    put(client, admin, "h.mp4")
    response = client.head(URL + "h.mp4", headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.content == b""
    assert client.delete(URL + "h.mp4", headers=admin.headers).status_code == 204
    assert client.head(URL + "h.mp4", headers=admin.headers).status_code == 404
    response = client.get(URL + "h.mp4", headers=admin.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound.ObjectNotFound"
    assert client.delete(URL + "h.mp4", headers=admin.headers).status_code == 204  # idempotent


def test_listing_pages_with_start_after(client: TestClient, admin: Key) -> None:
    names = [f"p/{i:02}.mp4" for i in range(7)]
    for name in names:
        put(client, admin, name, b"x")
    put(client, admin, "q/other.mp4", b"x")
    seen: list[str] = []
    start_after = ""
    while True:
        params = {"prefix": "p/", "limit": "3", "start_after": start_after}
        page = client.get("/v1/buckets/media/objects", params=params, headers=admin.headers)
        assert page.status_code == 200
        body = page.json()
        seen += [o["key"] for o in body["objects"]]
        if body["next_start_after"] is None:
            break
        start_after = body["next_start_after"]
    assert seen == names


def test_listing_limit_is_bounded(client: TestClient, admin: Key) -> None:
    response = client.get("/v1/buckets/media/objects?limit=5000", headers=admin.headers)
    assert response.status_code == 400
    assert error_of(response)["fields"] == [
        {"field": "limit", "message": "Input should be less than or equal to 1000"}
    ]


def test_buckets_of_the_account(client: TestClient, admin: Key, bob: Key) -> None:
    names = [b["name"] for b in client.get("/v1/buckets", headers=admin.headers).json()["buckets"]]
    assert names == ["media"]
    names = [b["name"] for b in client.get("/v1/buckets", headers=bob.headers).json()["buckets"]]
    assert names == [OTHER_BUCKET]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/buckets/media/objects/a.mp4"),
        ("GET", "/v1/buckets/media/objects/a.mp4"),
        ("HEAD", "/v1/buckets/media/objects/a.mp4"),
        ("DELETE", "/v1/buckets/media/objects/a.mp4"),
        ("GET", "/v1/buckets/media/objects"),
        ("GET", "/v1/buckets/no-such-bucket/objects"),
    ],
)
def test_another_accounts_bucket_is_404(
    client: TestClient, admin: Key, bob: Key, runtime: ServerServices, method: str, path: str
) -> None:
    put(client, admin, "a.mp4")
    response = client.request(method, path, content=b"evil", headers=bob.headers)
    assert response.status_code == 404
    if method != "HEAD":
        assert error_of(response)["code"] == "ResourceNotFound.BucketNotExist"
        assert "a.mp4" not in response.text
    assert runtime.storages.get("media").read_bytes("a.mp4") == DATA


def test_upload_over_the_limit_is_413_and_stores_nothing(
    client: TestClient, admin: Key, runtime: ServerServices
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off while streaming
        for _ in range(UPLOAD_LIMIT // 65536 + 2):
            yield b"z" * 65536

    response = client.put(URL + "big.bin", content=chunks(), headers=admin.headers)
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestTooLarge"
    response = client.put(URL + "big.bin", content=b"z" * (UPLOAD_LIMIT + 1), headers=admin.headers)
    assert response.status_code == 413
    assert runtime.storages.get("media").list() == []


def test_upload_hook_is_called_after_a_successful_put(client: TestClient, admin: Key) -> None:
    calls: list[tuple[int, str, str]] = []
    client.app.state.on_upload = lambda account, bucket, key: calls.append((account, bucket, key))  # type: ignore[attr-defined]
    put(client, admin, "/in/new.mp4")
    assert calls == [(admin.account_id, "media", "in/new.mp4")]
    client.put(URL + "in/%2E%2E/x.mp4", content=b"x", headers=admin.headers)
    assert len(calls) == 1  # a refused upload does not fire


def test_a_failing_upload_hook_does_not_fail_the_upload(
    client: TestClient, admin: Key, caplog: pytest.LogCaptureFixture
) -> None:
    def hook(account: int, bucket: str, key: str) -> None:
        raise RuntimeError("trigger broke")

    client.app.state.on_upload = hook  # type: ignore[attr-defined]
    put(client, admin, "in/x.mp4")
    assert "trigger broke" in caplog.text


def test_an_upload_cut_off_by_the_client_stores_nothing(
    app: FastAPI, admin: Key, runtime: ServerServices
) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"x" * 1000, "more_body": True},
        {"type": "http.request", "body": b"y" * 1000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(dict(message))

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/v1/buckets/media/objects/cut.bin",
        "raw_path": b"/v1/buckets/media/objects/cut.bin",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {admin.secret}".encode()),
            (b"content-length", b"10000"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["error"]["code"] == "InvalidParameter.IncompleteBody"
    assert runtime.storages.get("media").list() == []
    assert list((runtime.settings.data_dir / "buckets" / "media").iterdir()) == []
