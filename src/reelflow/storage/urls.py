"""Sources given as http(s) URLs: fetched to a local file before FFmpeg reads them.

FFmpeg and PyAV never open a URL input themselves: they would follow redirects, playlist
entries and segment URLs to any address, outside reelflow's egress policy. ``fetch`` copies
the source through an httpx client whose every connection, redirects included, goes
through the policy (``reelflow.net.http``): a refused address raises ``UrlNotAllowed``
before anything is connected to it. The copy stops as soon as more than ``url_max_bytes``
arrived (``LimitExceeded.SourceSize``, permanent; a larger ``Content-Length`` is refused
before reading). A local copy also serves servers without Range support and MP4 files whose
``moov`` is at the end, which FFmpeg could not seek in over HTTP.

A source that answers 404 is ``ObjectNotFound``, 401/403 ``AccessDenied``; an unreachable or
failing server is a retryable ``StorageError``. A source that is a playlist or manifest
(HLS, DASH, an FFmpeg concat script) names other resources that FFmpeg would open on its
own: it is refused (``UrlNotAllowed``) rather than demuxed. Every request has the configured
timeout (connect, and each read).
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import BinaryIO

import httpx

from reelflow.errors import AccessDenied, LimitExceeded, ObjectNotFound, StorageError, UrlNotAllowed
from reelflow.net.egress import EgressPolicy
from reelflow.net.http import GuardedTransport
from reelflow.storage.base import CHUNK_SIZE

_MAX_REDIRECTS = 10
# FFmpeg's default probe size: how far its format probes may read into a source.
PROBE_BYTES = 5_000_000
# Text formats whose entries FFmpeg opens as further URLs or files. The DASH probe of
# FFmpeg looks for "<MPD" in any case anywhere in its probe buffer, read as a C string (up
# to the first NUL): so a manifest may hide it behind kilobytes of XML comment.
_MANIFESTS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"^\s*#EXTM3U"), "an HLS playlist"),
    (re.compile(rb"<MPD", re.I), "a DASH manifest"),
    (re.compile(rb"^\s*ffconcat\s+version", re.I), "an FFmpeg concat script"),
    # The FFmpeg binary's IMF demuxer opens the ASSETMAP.xml beside the file and the assets
    # it names (PyAV's build has no IMF demuxer).
    (re.compile(rb"<CompositionPlaylist", re.I), "an IMF composition playlist"),
    (re.compile(rb"^\s*<\?xml[^>]*>\s*<(?:smil|SmoothStreamingMedia)[\s>]", re.I), "a manifest"),
)


def redact(url: str) -> str:
    """The URL without its query (which often carries a signature)."""
    return url.split("?", 1)[0]


class UrlSources:
    """``UrlSources(max_bytes, timeout, egress=policy)``: :meth:`fetch` for one process.

    ``transport`` replaces the network (unit tests pass an ``httpx.MockTransport``; it is
    then not guarded)."""

    def __init__(
        self,
        max_bytes: int,
        timeout: float,
        *,
        egress: EgressPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        # Loading the CA bundle costs ~20 ms of CPU: build the TLS context and the pooled
        # transport once per process, not per URL.
        self._transport = transport or GuardedTransport(
            egress or EgressPolicy(), verify=ssl.create_default_context()
        )

    def fetch(self, url: str, dest: Path) -> Path:
        """Copy the source to ``dest``, refusing it once more than the limit has arrived,
        and refusing a playlist or manifest (``UrlNotAllowed``)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        total = 0
        client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            max_redirects=_MAX_REDIRECTS,
            transport=self._transport,
        )
        try:
            with client.stream("GET", url) as answer, dest.open("wb") as out:
                self._checked(url, answer)
                for chunk in answer.iter_bytes(CHUNK_SIZE):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise self._too_large(url, f"more than {total}")
                    out.write(chunk)
            with dest.open("rb") as copy:
                refuse_manifest(read_head(copy), redact(url), host=httpx.URL(url).host)
        except httpx.HTTPError as exc:
            dest.unlink(missing_ok=True)
            raise StorageError(f"source {redact(url)} could not be read: {exc}") from exc
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        # Not closed: closing the client would close the shared transport's pool.
        return dest

    def read(self, url: str, max_bytes: int) -> bytes:
        """A small resource (a watermark image) in memory, fetched like a source: through
        the egress policy (``UrlNotAllowed`` before any connection to a refused address,
        redirects included), the same status errors; more than ``max_bytes`` is
        ``LimitExceeded.SourceSize``."""
        client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            max_redirects=_MAX_REDIRECTS,
            transport=self._transport,
        )
        data = bytearray()
        try:
            with client.stream("GET", url) as answer:
                self._checked(url, answer, max_bytes)
                for chunk in answer.iter_bytes(CHUNK_SIZE):
                    data += chunk
                    if len(data) > max_bytes:
                        raise self._too_large(url, f"more than {len(data)}", max_bytes)
        except httpx.HTTPError as exc:
            raise StorageError(f"{redact(url)} could not be read: {exc}") from exc
        return bytes(data)

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def _checked(self, url: str, answer: httpx.Response, limit: int | None = None) -> None:
        limit = self.max_bytes if limit is None else limit
        status = answer.status_code
        where = redact(url)
        if status in (404, 410):
            raise ObjectNotFound(f"source {where} does not exist (HTTP {status})")
        if status in (401, 403):
            raise AccessDenied(f"source {where} refused access (HTTP {status})")
        if status >= 500 or status in (408, 429):
            raise StorageError(f"source {where} answered HTTP {status}; try again later")
        if status >= 300:
            error = StorageError(f"source {where} answered HTTP {status}")
            error.retryable = False
            raise error
        if "content-length" in answer.headers and "content-encoding" not in answer.headers:
            size = answer.headers["content-length"]
            if size.isdigit() and int(size) > limit:
                raise self._too_large(url, size, limit)

    def _too_large(self, url: str, size: str, limit: int | None = None) -> LimitExceeded:
        setting = " (setting url_max_bytes)" if limit is None else ""
        return LimitExceeded(
            f"source {redact(url)} is {size} bytes; the limit is "
            f"{self.max_bytes if limit is None else limit}{setting}",
            code="LimitExceeded.SourceSize",
        )


def read_head(file: BinaryIO) -> bytes:
    """The start of a source as FFmpeg's text probes see it: the bytes before the first
    NUL, at most ``PROBE_BYTES``. A media file has a NUL within its first bytes, so this
    reads little; a text file is read as far as FFmpeg would look into it."""
    head = bytearray()
    while len(head) < PROBE_BYTES:
        chunk = file.read(min(CHUNK_SIZE, PROBE_BYTES - len(head)))
        if not chunk:
            break
        end = chunk.find(b"\0")
        if end >= 0:
            head += chunk[:end]
            break
        head += chunk
    return bytes(head)


def refuse_manifest(head: bytes, where: str, *, host: str = "") -> None:
    """``UrlNotAllowed`` if ``head`` (:func:`read_head` of the source ``where``) is a
    playlist or manifest: FFmpeg would open the URLs or files it names on its own."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    for pattern, kind in _MANIFESTS:
        if pattern.search(head):
            raise UrlNotAllowed(
                f"source {where} is {kind}: reelflow does not open the resources it "
                "names (each would bypass the egress policy); give the media file itself",
                host=host,
            )
