"""A 200 MB upload and download through a real uvicorn server on loopback: memory stays
flat (the body is never held whole), and the bytes arrive intact."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from reelflow.web import socket_body, streams
from tests.servers import CHUNK, MAX_GROWTH, SIZE, PeakRss, big_body


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_200_mb_upload_keeps_memory_flat(in_process: tuple[str, str], framing: str) -> None:
    """Either way a body can come: chunked (read through ASGI), or with a declared length
    (read from the socket by the storing thread, see reelflow.web.socket_body)."""
    url, secret = in_process
    headers = {"Authorization": f"Bearer {secret}"}
    length = {"Content-Length": str(SIZE)} if framing == "content-length" else {}
    sent = hashlib.md5(usedforsecurity=False)
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        with PeakRss() as upload:
            response = client.put(
                "/v1/buckets/media/objects/big/source.bin", content=big_body(sent), headers=length
            )
        assert response.status_code == 200, response.text
        assert response.json()["size"] == SIZE
        # A body taken from the socket ends its connection (the parser never saw it).
        closed = response.headers.get("connection") == "close"
        assert closed == (framing == "content-length")
        # A local bucket tags an upload with a version instead of hashing it on arrival.
        assert re.fullmatch(r"v-[0-9a-f]{32}", response.json()["etag"])
        received = hashlib.md5(usedforsecurity=False)
        with (
            PeakRss() as download,
            client.stream("GET", "/v1/buckets/media/objects/big/source.bin") as stream,
        ):
            assert stream.status_code == 200
            for chunk in stream.iter_bytes():
                received.update(chunk)
        assert received.hexdigest() == sent.hexdigest()
    print(
        f"\n200 MiB upload: RSS {upload.baseline / 2**20:.0f} MiB -> peak "
        f"{upload.peak / 2**20:.0f} MiB (+{upload.growth / 2**20:.1f} MiB); download peak "
        f"+{download.growth / 2**20:.1f} MiB"
    )
    assert upload.growth < MAX_GROWTH
    assert download.growth < MAX_GROWTH


def _framed(block: bytes, framing: str) -> bytes:
    return b"%x\r\n%s\r\n" % (len(block), block) if framing == "chunked" else block


def _framing_header(framing: str, length: int) -> bytes:
    if framing == "chunked":
        return b"Transfer-Encoding: chunked\r\n"
    return b"Content-Length: %d\r\n" % length


@pytest.mark.integration
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_client_gone_mid_upload_leaves_nothing(
    in_process: tuple[str, str], tmp_path: Path, framing: str
) -> None:
    url, secret = in_process
    host, port = url.removeprefix("http://").split(":")
    bucket = tmp_path / "data" / "buckets" / "media"
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        kept = client.put("/v1/buckets/media/objects/cut/a.bin", content=b"old")
        assert kept.status_code == 200
        # Half of a 64 MiB body, then the connection is closed.
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(
                b"PUT /v1/buckets/media/objects/cut/a.bin HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {secret}\r\n".encode()
                + _framing_header(framing, 64 * CHUNK)
                + b"\r\n"
            )
            block = _framed(b"n" * CHUNK, framing)
            for _ in range(32):
                conn.sendall(block)
        deadline = time.monotonic() + 10
        while any(p.name != "a.bin" for p in (bucket / "cut").iterdir()):
            assert time.monotonic() < deadline, sorted((bucket / "cut").iterdir())
            time.sleep(0.05)
        assert sorted(p.name for p in (bucket / "cut").iterdir()) == ["a.bin"]
        assert client.get("/v1/buckets/media/objects/cut/a.bin").content == b"old"
        # The server goes on serving uploads.
        again = client.put("/v1/buckets/media/objects/cut/b.bin", content=b"new")
        assert again.status_code == 200


def _stalled_upload(
    host: str, port: int, secret: str, key: str, length: int, framing: str = "content-length"
) -> socket.socket:
    """An upload whose client sent its headers and 1 KiB of ``length``, then nothing."""
    conn = socket.create_connection((host, port))
    conn.sendall(
        f"PUT /v1/buckets/media/objects/{key} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {secret}\r\n".encode()
        + _framing_header(framing, length)
        + b"\r\n"
        + _framed(b"s" * 1024, framing)
    )
    return conn


@pytest.mark.integration
def test_stalled_uploads_do_not_starve_the_api(in_process: tuple[str, str]) -> None:
    """More stalled uploads than the API has threads (anyio's default limiter: 40) and
    than there are upload slots: other routes answer at once, and a waiting upload is
    stored once a slot is free."""
    url, secret = in_process
    host, port = url.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {secret}"}
    length = 4096
    stalled = [
        _stalled_upload(host, int(port), secret, f"stall/{i}.bin", length) for i in range(45)
    ]
    try:
        time.sleep(0.5)
        with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
            # A route run in a worker thread (sync), then one on the loop.
            assert client.get("/v1/tasks").status_code == 200
            assert client.get("/v1/buckets").status_code == 200
            # Every stalled client finishes its body: all 45 are stored, the ones that
            # waited for a slot included.
            for conn in stalled:
                conn.sendall(b"s" * (length - 1024))
            for conn in stalled:
                conn.settimeout(10)
                answer = b""
                while b"\r\n\r\n" not in answer:
                    answer += conn.recv(4096)
                assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            listed = client.get("/v1/buckets/media/objects", params={"prefix": "stall/"})
            assert len(listed.json()["objects"]) == 45
            assert {o["size"] for o in listed.json()["objects"]} == {length}
    finally:
        for conn in stalled:
            conn.close()


@pytest.mark.integration
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_client_that_stops_sending_gets_408_and_leaves_nothing(
    in_process: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, framing: str
) -> None:
    monkeypatch.setattr(streams, "IDLE_TIMEOUT", 0.5)
    url, secret = in_process
    host, port = url.removeprefix("http://").split(":")
    with _stalled_upload(host, int(port), secret, "idle/a.bin", 1 << 20, framing) as conn:
        conn.settimeout(10)
        answer = b""
        while b"}}" not in answer and (got := conn.recv(4096)):
            answer += got
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert json.loads(body)["error"]["code"] == "RequestTimeout"
    folder = tmp_path / "data" / "buckets" / "media" / "idle"
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.integration
def test_large_and_small_uploads_share_a_client(in_process: tuple[str, str]) -> None:
    """A body of MIN_LENGTH or more with a declared length ends its connection; the client
    goes on over a new one, and smaller bodies keep theirs."""
    url, secret = in_process
    big = os.urandom(socket_body.MIN_LENGTH + 12345)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client:
        small = client.put("/v1/buckets/media/objects/mix/small.bin", content=b"s" * 1000)
        assert small.status_code == 200
        assert small.headers.get("connection") != "close"
        large = client.put("/v1/buckets/media/objects/mix/large.bin", content=big)
        assert large.status_code == 200, large.text
        assert large.headers.get("connection") == "close"
        assert large.json()["size"] == len(big)
        again = client.put("/v1/buckets/media/objects/mix/small.bin", content=b"t" * 1000)
        assert again.status_code == 200
        assert client.get("/v1/buckets/media/objects/mix/large.bin").content == big
        assert client.get("/v1/buckets/media/objects/mix/small.bin").content == b"t" * 1000


@pytest.mark.integration
def test_a_large_upload_that_expects_100_continue_is_stored(in_process: tuple[str, str]) -> None:
    """curl sends large files with ``Expect: 100-continue`` and waits for the interim answer
    before the body (for up to 1 s, then sends anyway: this client never does)."""
    url, secret = in_process
    host, port = url.removeprefix("http://").split(":")
    body = os.urandom(2 * CHUNK + 7)
    with socket.create_connection((host, int(port))) as conn:
        conn.settimeout(10)
        conn.sendall(
            b"PUT /v1/buckets/media/objects/expect/a.bin HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {secret}\r\n".encode()
            + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        interim = b""
        while b"\r\n\r\n" not in interim and (got := conn.recv(1)):
            interim += got
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(body)
        answer = b""
        while got := conn.recv(65536):  # the server closes the connection after answering
            answer += got
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload)["size"] == len(body)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client:
        assert client.get("/v1/buckets/media/objects/expect/a.bin").content == body
