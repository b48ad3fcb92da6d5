"""The storage contract: one bucket of objects addressed by keys.

Every backend (local folder, in-memory fake, S3-compatible) implements :class:`Storage`.
The engine relies on three promises above all:

* writes are atomic: an object appears whole or not at all, and a failed write leaves
  nothing behind (not even a temporary file visible to :meth:`Storage.list`);
* foreign errors never escape: backends raise :class:`~reelflow.errors.StorageError` and
  its subclasses (``ObjectNotFound``, ``AccessDenied``, ``InvalidKey``), chained with
  ``raise ... from exc``, so retry is decided by the exception type;
* keys are validated and normalized by :func:`~reelflow.object_keys.validate_key`
  (``/a.mov`` and ``a.mov`` are the same object).

What a backend offers beyond the contract (a folder that can be watched, event
notifications of its own) it declares in :attr:`Storage.capabilities`; callers choose by
that, never by the backend's class. Backends are chosen from settings in one place,
:mod:`reelflow.storage.registry`.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import mimetypes
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import BinaryIO, TypeVar

from reelflow.backoff import Patience
from reelflow.errors import AccessDenied, DiskFull, ObjectNotFound, StorageError, StorageUnavailable
from reelflow.object_keys import temporary_name, validate_bucket_name

CHUNK_SIZE = 1024 * 1024
T = TypeVar("T")
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Media types reelflow writes whose mapping is missing from Python's defaults or wrong in
# common /etc/mime.types files (Debian maps ".ts" to Qt Linguist translations).
_MEDIA_TYPES = {
    "ts": "video/mp2t",
    "m3u8": "application/vnd.apple.mpegurl",
    "mpd": "application/dash+xml",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "mkv": "video/x-matroska",
    "flv": "video/x-flv",
    "webm": "video/webm",
    "webp": "image/webp",
    "vtt": "text/vtt",
}


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a backend knows about one stored object.

    ``etag`` identifies this version of the object. It is the hex MD5 of the content
    for the in-memory backend and for whatever a local bucket stored or found on disk,
    except uploads through :meth:`Storage.put_upload`, which a local bucket tags
    ``v-<32 hex>`` instead (hashing a large upload would cost more than receiving it);
    S3 gives its own ETag (an MD5, or ``<hex>-<parts>`` for a multipart upload). Treat it
    as opaque: it changes whenever the content does. ``modified`` is timezone-aware UTC.
    """

    key: str
    size: int
    etag: str
    modified: datetime
    content_type: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend offers beyond the contract. Triggers and wiring choose by these, never
    by the backend's class; the defaults (nothing more) are the in-memory fake's."""

    folder: Path | None = None
    """The local folder whose files are the objects (a key is a path under it): a folder
    watcher can notice files copied in by other means, and only this machine can read
    them. None: the objects are not files of this machine."""

    native_events: bool = False
    """The store announces new objects itself (S3 event notifications) and dates them by
    its own clock (:meth:`Storage.server_time`), so it can also be polled for them."""

    key_prefix: str = ""
    """Where the bucket's keys start in the store's own namespace ('' or ending in '/'):
    the store's event notifications name an object ``key_prefix + key``."""


class Storage(ABC):
    """One bucket. Subclasses implement the abstract methods; the rest is generic.

    Every method taking a key validates it first (``InvalidKey``) and reports a missing
    object as ``ObjectNotFound``, a refused operation as ``AccessDenied`` and anything
    else that went wrong as ``StorageError`` (retryable), errors met while reading a
    stream from :meth:`open_read` included. Implementations are safe to use from several
    threads.
    """

    name: str
    """The bucket name, valid per :func:`~reelflow.object_keys.validate_bucket_name`."""

    region: str = ""
    """The configured region of a remote bucket (S3); empty for local and in-memory ones.
    The compatible API compares a request's ``Region`` with it."""

    capabilities: Capabilities = Capabilities()
    """What this bucket offers beyond the contract (see :class:`Capabilities`)."""

    def __init__(self, name: str) -> None:
        self.name = validate_bucket_name(name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # -- the contract --------------------------------------------------------------------

    @abstractmethod
    def put_stream(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        """Store everything read from ``stream`` (until EOF) as ``key``, atomically.

        The stream is read in chunks, never held whole in memory. Readers see the previous
        object (if any) until the new one is complete; if reading the stream or writing
        fails, the previous object is untouched and no partial data or temporary file
        remains; an exception raised by ``stream`` itself propagates unchanged (it is the
        caller's, not the storage's). ``content_type`` defaults to
        :func:`guess_content_type`; a backend that cannot store it derives it from the key
        instead. Returns what :meth:`stat` would.
        """

    def put_upload(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        """Store a client's upload: :meth:`put_stream`, except that the backend may give
        the object a version ETag instead of hashing its content while it arrives (a
        local bucket does; see :class:`ObjectInfo`)."""
        return self.put_stream(key, stream, content_type=content_type)

    @abstractmethod
    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Open ``key`` for reading bytes ``start`` to ``end``, **both inclusive**.

        The range follows HTTP ``Range: bytes=start-end`` so an API can pass it through:
        ``end=None`` means to the end of the object; an ``end`` past the object is
        clamped and a ``start`` past it yields no bytes. A negative ``start`` or an
        ``end < start`` raises ``ValueError`` (see :func:`check_range`).

        The object is opened by the call (``ObjectNotFound`` is raised here, not later)
        and the returned stream is its own context manager: use it in a ``with`` block.
        """

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Describe ``key``; raise ``ObjectNotFound`` if it does not exist."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``. Deleting a missing object is not an error (idempotent)."""

    @abstractmethod
    def list(
        self, prefix: str = "", *, start_after: str = "", limit: int = 1000
    ) -> builtins.list[ObjectInfo]:
        """Up to ``limit`` objects whose key starts with ``prefix``, sorted by key.

        Recursive: ``prefix`` is a plain string prefix (as in S3), not a folder, so
        ``"up/a"`` matches ``up/a.mp4`` and ``up/ab/c.mp4``; one leading ``/`` is
        ignored. Only keys strictly greater than ``start_after`` are returned, so the
        last key of a page is the ``start_after`` of the next. Keys sort by code point,
        which is also UTF-8 byte order. Unfinished writes are never listed. A
        ``limit`` below 1 raises ``ValueError``.
        """

    # -- generic parts, which backends may override with something faster ----------------

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> ObjectInfo:
        """Store the local file ``path`` as ``key``, atomically (see :meth:`put_stream`).

        A source file that cannot be read raises ``AccessDenied`` or ``StorageError``.
        """
        try:
            source = path.open("rb")
        except OSError as exc:
            raise translate_os_error(exc, f"cannot read the local file {path}") from exc
        with source:
            try:
                return self.put_stream(key, source, content_type=content_type)
            except OSError as exc:  # put_stream lets only its source's errors through
                raise translate_os_error(exc, f"cannot read the local file {path}") from exc

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Store ``data`` as ``key``; a convenience for small objects (manifests, indexes)."""
        return self.put_stream(key, io.BytesIO(data), content_type=content_type)

    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """Return the bytes of ``key`` in the inclusive range (see :meth:`open_read`)."""
        with self.open_read(key, start, end) as stream:
            return stream.read()

    def exists(self, key: str) -> bool:
        """Tell whether ``key`` exists. An invalid key raises ``InvalidKey``, not False."""
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def local_path(self, key: str) -> Path | None:
        """A path FFmpeg can read directly, or None when objects are not local files.

        Backends that return a path raise ``ObjectNotFound`` if the object is missing.
        The path is for reading only: writes must go through ``put_*`` to stay atomic.
        """
        return None

    def presigned_url(self, key: str, expires: int = 3600) -> str | None:
        """A URL that grants a GET of ``key`` for ``expires`` seconds, or None if the
        backend has no URL of its own (local folder, memory)."""
        return None

    def server_time(self) -> datetime:
        """The clock that dates this bucket's objects (:attr:`ObjectInfo.modified`): the
        store's own for a remote bucket, this machine's (UTC) otherwise."""
        return datetime.now(UTC)

    def fetch_to(
        self, key: str, dest: Path, *, patience: float = 0.0, info: ObjectInfo | None = None
    ) -> Path:
        """Copy ``key`` to the local file ``dest`` (parents created, replaced if present).
        ``info``: the object's description when the caller has just read it (saves a HEAD).

        The copy is atomic too, so a crashed fetch never leaves a truncated file that
        looks complete. A store that is unavailable (``StorageUnavailable`` from opening,
        reading or describing the object) is retried with backoff for up to ``patience``
        seconds without progress; a read cut short resumes after the last chunk written (a
        ranged :meth:`open_read`) while the object's ETag is unchanged, and starts over
        when the object was replaced meanwhile. Local disk errors become ``AccessDenied``
        or ``StorageError``. Returns ``dest``.
        """
        retry = Patience(patience)
        if info is None:
            info = retry_unavailable(lambda: self.stat(key), retry)
        tmp = dest.with_name(temporary_name(dest.name, uuid.uuid4().hex))
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("xb") as out:
                while not self._copy_from(key, out, info, retry):
                    if not retry.wait():
                        raise StorageUnavailable(
                            f"cannot read '{key}' in bucket '{self.name}': its content kept "
                            f"ending early (at byte {out.tell()} of {info.size})",
                            dependency=f"bucket '{self.name}'",
                        )
                    now = retry_unavailable(lambda: self.stat(key), retry)
                    if now.etag != info.etag or out.tell() > now.size:
                        out.seek(0)
                        out.truncate()
                        info = now
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise translate_os_error(exc, f"cannot write {dest}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return dest

    def _copy_from(self, key: str, out: BinaryIO, info: ObjectInfo, retry: Patience) -> bool:
        """Append the object's bytes from ``out.tell()`` on; True once all ``info.size`` are
        there, False if the read ended early or was cut (``StorageUnavailable``)."""
        try:
            with self.open_read(key, out.tell()) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    out.write(chunk)
                    retry.reset()  # progress: an outage, if any, is over
        except StorageUnavailable:
            return False
        return out.tell() == info.size


def retry_unavailable(operation: Callable[[], T], retry: Patience) -> T:
    """``operation()``, tried again after each ``StorageUnavailable`` while ``retry`` lasts
    (the last one is raised)."""
    while True:
        try:
            return operation()
        except StorageUnavailable:
            if not retry.wait():
                raise


def check_range(start: int, end: int | None) -> None:
    """Raise ``ValueError`` unless ``start``/``end`` is a valid inclusive byte range."""
    if start < 0:
        raise ValueError(f"range start must be 0 or more, got {start}")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before its start {start}; the end is inclusive")


def guess_content_type(key: str) -> str:
    """The media type implied by the key's extension, else ``application/octet-stream``.

    Deterministic: it never reads the host's /etc/mime.types.
    """
    ext = key.rpartition("/")[2].rpartition(".")[2].lower()
    if ext in _MEDIA_TYPES:
        return _MEDIA_TYPES[ext]
    guessed, _ = _builtin_mime_types().guess_type(key, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


@cache
def _builtin_mime_types() -> mimetypes.MimeTypes:
    # A MimeTypes instance knows only Python's built-in table; the module-level functions
    # also load the host's files, which differ between machines.
    return mimetypes.MimeTypes()


def file_md5(path: Path) -> str:
    """The hex MD5 of the local file ``path``, read in chunks (``OSError`` propagates)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class FillingStream(io.RawIOBase):
    """A raw stream that is best read with ``readinto`` into one reused buffer, as the
    local backend then does (:func:`~reelflow.storage.local.atomic.write_atomically`): a
    ``read`` would allocate a new object per chunk (on a long upload, memory that a
    thread's allocator keeps). Streams whose ``read`` hands out chunks already in memory
    are best read with ``read``, as are all others."""


def translate_os_error(exc: OSError, what: str) -> StorageError:
    """The reelflow error for an ``OSError`` met while doing ``what`` (a phrase).

    Permission problems and read-only file systems are ``AccessDenied`` (permanent);
    a full disk or quota is ``DiskFull``; everything else is a retryable ``StorageError``.
    """
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return AccessDenied(f"{what}: {reason}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"{what}: no space left on the device ({reason})")
    return StorageError(f"{what}: {reason}")
