"""Reading a ladder's manifests and segments: local files, or http(s) URLs through reelflow's
egress-guarded client (``reelflow.net.http``), never through FFmpeg or a parser's own fetcher.

A byte range reads only that range: a local file is seeked, a server is asked with ``Range``
(a server without Range support answers the whole object, which is then read only up to the
range's end). Whatever is read is bounded by ``max_bytes`` per request.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from reelflow.errors import AccessDenied, LimitExceeded, ObjectNotFound, StorageError
from reelflow.net.egress import EgressPolicy
from reelflow.net.http import GuardedTransport

DEFAULT_MAX_BYTES = 1 << 30
_MAX_REDIRECTS = 10


@dataclass(frozen=True)
class ByteRange:
    """``length`` bytes from ``offset`` (an ``EXT-X-BYTERANGE`` or a DASH ``mediaRange``)."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        """The offset just past the range."""
        return self.offset + self.length

    @classmethod
    def from_dash(cls, text: str) -> ByteRange:
        """``"first-last"`` (inclusive, as in HTTP and the MPD)."""
        first, _, last = text.strip().partition("-")
        return cls(int(first), int(last) - int(first) + 1)

    def __str__(self) -> str:
        return f"{self.length}@{self.offset}"


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def resolve(base: str, uri: str) -> str:
    """``uri`` as named by the manifest at ``base`` (a URL or a local path)."""
    if is_url(uri) or is_url(base):
        return urljoin(base, uri)
    if uri.startswith("file://"):
        return urlsplit(uri).path
    return str(Path(base).parent / uri)


def display(location: str) -> str:
    """A location as a report shows it: a URL without its query (often a signature)."""
    return location.split("?", 1)[0] if is_url(location) else location


class StreamReader:
    """``StreamReader(egress=policy)``: :meth:`read` a manifest or a segment, local or remote.

    ``transport`` replaces the network (unit tests pass an ``httpx.MockTransport``; it is then
    not guarded). Close it (or use it as a context manager) to close pooled connections."""

    def __init__(
        self,
        *,
        egress: EgressPolicy | None = None,
        timeout: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._timeout = timeout
        self._transport = transport
        self._egress = egress or EgressPolicy()
        self._client: httpx.Client | None = None

    def read(self, location: str, byterange: ByteRange | None = None) -> bytes:
        """The bytes at ``location`` (only ``byterange`` of them when given).

        Raises:
            ObjectNotFound: no such file or HTTP 404/410.
            AccessDenied: unreadable file or HTTP 401/403.
            LimitExceeded: more than ``max_bytes``.
            UrlNotAllowed: the egress policy refuses the host.
            StorageError: any other failure to read.
        """
        if byterange is not None and byterange.length > self.max_bytes:
            raise self._too_large(location)
        if is_url(location):
            return self._fetch(location, byterange)
        return self._read_file(Path(location), byterange)

    def _read_file(self, path: Path, byterange: ByteRange | None) -> bytes:
        try:
            with path.open("rb") as source:
                if byterange is None:
                    data = source.read(self.max_bytes + 1)
                    if len(data) > self.max_bytes:
                        raise self._too_large(str(path))
                    return data
                source.seek(byterange.offset)
                data = source.read(byterange.length)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{path} does not exist") from exc
        except PermissionError as exc:
            raise AccessDenied(f"{path} cannot be read: permission denied") from exc
        except IsADirectoryError as exc:
            raise StorageError(f"{path} is a directory, not a manifest or segment") from exc
        if len(data) != byterange.length:
            raise StorageError(f"{path} ends before the byte range {byterange}")
        return data

    def _http(self) -> httpx.Client:
        if self._client is None:
            transport = self._transport or GuardedTransport(
                self._egress, verify=ssl.create_default_context()
            )
            self._client = httpx.Client(
                timeout=self._timeout,
                follow_redirects=True,
                max_redirects=_MAX_REDIRECTS,
                transport=transport,
            )
        return self._client

    def _fetch(self, url: str, byterange: ByteRange | None) -> bytes:
        where = display(url)
        headers = {}
        if byterange is not None:
            headers["Range"] = f"bytes={byterange.offset}-{byterange.end - 1}"
        try:
            with self._http().stream("GET", url, headers=headers) as answer:
                _check_status(where, answer.status_code)
                if byterange is not None and answer.status_code == 206:
                    data = self._body(answer, byterange.length, where)
                elif byterange is not None:  # the server ignored Range: skip to it
                    data = self._body(answer, byterange.end, where)[byterange.offset :]
                else:
                    data = self._body(answer, self.max_bytes, where, limit=True)
        except httpx.HTTPError as exc:
            raise StorageError(f"{where} could not be read: {exc}") from exc
        if byterange is not None and len(data) != byterange.length:
            raise StorageError(f"{where} ends before the byte range {byterange}")
        return data

    def _body(self, answer: httpx.Response, wanted: int, where: str, limit: bool = False) -> bytes:
        chunks = bytearray()
        for chunk in answer.iter_bytes():
            chunks += chunk
            if len(chunks) > wanted:
                if limit:
                    raise self._too_large(where)
                break
        return bytes(chunks[:wanted])

    def _too_large(self, where: str) -> LimitExceeded:
        return LimitExceeded(
            f"{display(where)} is larger than {self.max_bytes} bytes, the most the checker reads"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_status(where: str, status: int) -> None:
    if status in (404, 410):
        raise ObjectNotFound(f"{where} does not exist (HTTP {status})")
    if status in (401, 403):
        raise AccessDenied(f"{where} refused access (HTTP {status})")
    if status >= 300:
        raise StorageError(f"{where} answered HTTP {status}")
