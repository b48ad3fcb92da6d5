"""Sources given as http(s) URLs: checked for size before FFmpeg reads them.

FFmpeg and PyAV read a URL directly (streaming, no local copy). Before that, a ``HEAD``
(or, where HEAD is refused, a ``GET`` of the first byte) learns the size: a source larger
than the limit is refused up front (``LimitExceeded.SourceSize``, permanent), as is one that
answers 404 (``ObjectNotFound``) or 401/403 (``AccessDenied``); an unreachable or failing
server is a retryable ``StorageError``. A server that does not tell the size is fetched to
a local file instead, stopping as soon as the limit is passed. Every request has the
configured timeout (connect, and each read).
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import httpx

from reelflow.errors import AccessDenied, LimitExceeded, ObjectNotFound, StorageError
from reelflow.storage.base import CHUNK_SIZE

_CONTENT_RANGE = re.compile(r"bytes\s+\d+-\d+/(\d+)")
_REFUSED_HEAD = frozenset({400, 403, 405, 501})


def redact(url: str) -> str:
    """The URL without its query (which often carries a signature)."""
    return url.split("?", 1)[0]


class UrlSources:
    """``UrlSources(max_bytes, timeout)``: :meth:`size` and :meth:`fetch` for one process.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``)."""

    def __init__(
        self, max_bytes: int, timeout: float, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._transport = transport
        # Loading the CA bundle costs ~20 ms of CPU: build the TLS context once, not per URL.
        self._tls = ssl.create_default_context()

    def size(self, url: str) -> int | None:
        """The source's size if the server tells it (``None`` if not); raises if the source
        is missing, refused, unreachable or over the limit."""
        with self._client() as client:
            try:
                answer = client.head(url)
                if answer.status_code in _REFUSED_HEAD:
                    with client.stream("GET", url, headers={"Range": "bytes=0-0"}) as first:
                        return self._checked(url, first, ranged=True)
                return self._checked(url, answer, ranged=False)
            except httpx.HTTPError as exc:
                raise StorageError(f"source {redact(url)} is unreachable: {exc}") from exc

    def fetch(self, url: str, dest: Path) -> Path:
        """Copy the source to ``dest``, refusing it once more than the limit has arrived."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        total = 0
        with self._client() as client:
            try:
                with client.stream("GET", url) as answer, dest.open("wb") as out:
                    self._checked(url, answer, ranged=False)
                    for chunk in answer.iter_bytes(CHUNK_SIZE):
                        total += len(chunk)
                        if total > self.max_bytes:
                            raise self._too_large(url, f"more than {total}")
                        out.write(chunk)
            except httpx.HTTPError as exc:
                dest.unlink(missing_ok=True)
                raise StorageError(f"source {redact(url)} could not be read: {exc}") from exc
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
        return dest

    def _client(self) -> httpx.Client:
        return httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            transport=self._transport,
            verify=self._tls,
        )

    def _checked(self, url: str, answer: httpx.Response, *, ranged: bool) -> int | None:
        status = answer.status_code
        where = redact(url)
        if status in (404, 410):
            raise ObjectNotFound(f"source {where} does not exist (HTTP {status})")
        if status in (401, 403):
            raise AccessDenied(f"source {where} refused access (HTTP {status})")
        if status >= 500 or status in (408, 429):
            raise StorageError(f"source {where} answered HTTP {status}; try again later")
        if status >= 400:
            error = StorageError(f"source {where} answered HTTP {status}")
            error.retryable = False
            raise error
        size: int | None = None
        if ranged and status == 206:
            match = _CONTENT_RANGE.match(answer.headers.get("content-range", ""))
            size = int(match.group(1)) if match else None
        elif "content-length" in answer.headers and "content-encoding" not in answer.headers:
            size = int(answer.headers["content-length"])
        if size is not None and size > self.max_bytes:
            raise self._too_large(url, str(size))
        return size

    def _too_large(self, url: str, size: str) -> LimitExceeded:
        return LimitExceeded(
            f"source {redact(url)} is {size} bytes; the limit is {self.max_bytes} "
            "(setting url_max_bytes)",
            code="LimitExceeded.SourceSize",
        )
