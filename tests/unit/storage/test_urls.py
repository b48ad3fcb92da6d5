"""URL sources: fetched to a file, capped, typed errors, playlists refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelflow.errors import (
    AccessDenied,
    LimitExceeded,
    ObjectNotFound,
    StorageError,
    UrlNotAllowed,
)
from reelflow.storage.urls import UrlSources, redact

URL = "https://media.example/clip.mp4?X-Amz-Signature=secret"


def sources(handler: httpx.MockTransport, max_bytes: int = 1000) -> UrlSources:
    return UrlSources(max_bytes, 5.0, transport=handler)


def test_fetch_copies_the_body(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"\x00\x00\x00 ftyp"))
    dest = sources(transport).fetch(URL, tmp_path / "w" / "source.mp4")
    assert dest.read_bytes() == b"\x00\x00\x00 ftyp"


def test_over_the_limit_is_refused_without_reading(tmp_path: Path) -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"Content-Length": "1001"}, content=b"x" * 1001)
    )
    with pytest.raises(LimitExceeded) as caught:
        sources(transport).fetch(URL, tmp_path / "source")
    assert caught.value.code == "LimitExceeded.SourceSize"
    assert not caught.value.retryable
    assert "1001 bytes" in caught.value.message
    assert "secret" not in caught.value.message  # the signature is not echoed
    assert not (tmp_path / "source").exists()


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
def test_http_errors_are_typed(
    tmp_path: Path, status: int, error: type[Exception], retryable: bool
) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(status))
    with pytest.raises(error) as caught:
        sources(transport).fetch(URL, tmp_path / "source")
    assert isinstance(caught.value, StorageError)
    assert caught.value.retryable is retryable
    assert not (tmp_path / "source").exists()


def test_unreachable_is_retryable(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(StorageError) as caught:
        sources(httpx.MockTransport(handler)).fetch(URL, tmp_path / "source")
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


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"#EXTM3U\n#EXTINF:2,\nhttp://10.0.0.1/seg0.ts\n", "an HLS playlist"),
        (b"\xef\xbb\xbf  #EXTM3U\n", "an HLS playlist"),
        (b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', "a DASH manifest"),
        (b"ffconcat version 1.0\nfile /etc/passwd\n", "an FFmpeg concat script"),
        # FFmpeg's DASH probe finds "<MPD" in any case, anywhere before the first NUL.
        (b'<?xml version="1.0"?>\n<mpd xmlns="urn:mpeg:dash:schema:mpd:2011">', "a DASH manifest"),
        (b"<?xml version='1.0'?><!--" + b" " * 6000 + b"--><MPD>", "a DASH manifest"),
        (
            b'<?xml version="1.0"?>\n<CompositionPlaylist xmlns="http://www.smpte-ra.org/'
            b'schemas/2067-3/2016"><ContentTitle>t</ContentTitle>',
            "an IMF composition playlist",
        ),
    ],
    ids=["hls", "hls-bom", "dash", "concat", "dash-lower-case", "dash-after-6000-bytes", "imf"],
)
def test_playlists_and_manifests_are_refused(tmp_path: Path, body: bytes, kind: str) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    with pytest.raises(UrlNotAllowed) as caught:
        sources(transport, max_bytes=10_000).fetch(URL, tmp_path / "source")
    assert caught.value.code == "InvalidInput.UrlNotAllowed" and not caught.value.retryable
    assert kind in caught.value.message and "egress policy" in caught.value.message
    assert not (tmp_path / "source").exists()


def test_media_naming_a_manifest_after_its_first_nul_is_fetched(tmp_path: Path) -> None:
    # FFmpeg's text probes stop at the first NUL, which a media file has in its first bytes.
    body = b"\x00\x00\x00\x18ftypisom" + b"<MPD xmlns='urn:mpeg:dash'>"
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    assert sources(transport).fetch(URL, tmp_path / "source").read_bytes() == body


def test_redact_drops_the_query() -> None:
    assert redact(URL) == "https://media.example/clip.mp4"


def test_read_keeps_a_small_resource_in_memory_with_its_own_limit() -> None:
    """``read`` (an inline watermark's image): its own limit, not ``url_max_bytes``."""
    body = b"\x89PNG" + b"x" * 996
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    assert sources(transport, max_bytes=10).read(URL, 1000) == body
    with pytest.raises(LimitExceeded) as caught:
        sources(transport, max_bytes=10_000).read(URL, 999)
    assert "999" in caught.value.message and "secret" not in caught.value.message
    with pytest.raises(ObjectNotFound):
        sources(httpx.MockTransport(lambda r: httpx.Response(404))).read(URL, 1000)
