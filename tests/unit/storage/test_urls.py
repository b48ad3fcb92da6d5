"""URL sources: sizes from HEAD or a one-byte GET, limits, errors, capped fetches."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelflow.errors import AccessDenied, LimitExceeded, ObjectNotFound, StorageError
from reelflow.storage.urls import UrlSources, redact

URL = "https://media.example/clip.mp4?X-Amz-Signature=secret"


def sources(handler: httpx.MockTransport, max_bytes: int = 1000) -> UrlSources:
    return UrlSources(max_bytes, 5.0, transport=handler)


def test_size_from_head() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200, headers={"Content-Length": "999"})

    assert sources(httpx.MockTransport(handler)).size(URL) == 999
    assert seen == ["HEAD"]


def test_over_the_limit_is_refused_without_reading() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"Content-Length": "1001"})
    )
    with pytest.raises(LimitExceeded) as caught:
        sources(transport).size(URL)
    assert caught.value.code == "LimitExceeded.SourceSize"
    assert not caught.value.retryable
    assert "secret" not in caught.value.message  # the signature is not echoed


def test_refused_head_falls_back_to_a_one_byte_get() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(405)
        assert request.headers["range"] == "bytes=0-0"
        return httpx.Response(206, headers={"Content-Range": "bytes 0-0/5000"}, content=b"x")

    with pytest.raises(LimitExceeded):
        sources(httpx.MockTransport(handler)).size(URL)
    assert sources(httpx.MockTransport(handler), max_bytes=5000).size(URL) == 5000


def test_unknown_size_is_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Transfer-Encoding": "chunked"})

    assert sources(httpx.MockTransport(handler)).size(URL) is None


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (404, ObjectNotFound, False),
        (403, AccessDenied, False),
        (503, StorageError, True),
        (429, StorageError, True),
        (418, StorageError, False),
    ],
)
def test_http_errors_are_typed(status: int, error: type[Exception], retryable: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status)

    with pytest.raises(error) as caught:
        sources(httpx.MockTransport(handler)).size(URL)
    assert isinstance(caught.value, StorageError)
    assert caught.value.retryable is retryable


def test_unreachable_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(StorageError) as caught:
        sources(httpx.MockTransport(handler)).size(URL)
    assert caught.value.retryable
    assert "media.example/clip.mp4" in caught.value.message


def test_fetch_stops_past_the_limit(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 3000)

    dest = tmp_path / "w" / "source"
    with pytest.raises(LimitExceeded):
        sources(httpx.MockTransport(handler)).fetch(URL, dest)
    assert not dest.exists()
    small = sources(httpx.MockTransport(handler), max_bytes=3000).fetch(URL, dest)
    assert small.read_bytes() == b"x" * 3000


def test_redact_drops_the_query() -> None:
    assert redact(URL) == "https://media.example/clip.mp4"
