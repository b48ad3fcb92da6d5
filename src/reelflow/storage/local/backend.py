"""A bucket that is a folder on a local (or mounted) file system: the default backend."""

from __future__ import annotations

import builtins
import io
import os
import re
import stat as stat_module
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from reelflow.errors import AccessDenied, InvalidKey, ObjectNotFound, StorageError
from reelflow.object_keys import is_temporary_name, validate_key
from reelflow.storage.base import (
    CHUNK_SIZE,
    Capabilities,
    ObjectInfo,
    Storage,
    check_range,
    file_md5,
    guess_content_type,
    translate_os_error,
)
from reelflow.storage.local.atomic import write_atomically

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# The ETag of a file is kept in an extended attribute, stamped with the size and mtime it
# was computed for, so that neither this process nor another one reads a large file again
# just to answer stat() or list(). A file changed in place (cp over it) no longer matches
# its stamp and is hashed anew.
_ETAG_XATTR = "user.reelflow.etag"
_ETAG_CACHE_LIMIT = 4096
_ETAG = re.compile(r"^(?:v-)?[0-9a-f]{32}$")


class LocalStorage(Storage):
    """Objects are the files under ``root``; a key is their path relative to it.

    With ``create`` the root folder is made if missing; without it a missing root fails
    here, at start-up. Writes go to ``.<name>.reelflow-tmp-<uuid>`` in the object's folder
    and are renamed into place; folders are made as needed and ``delete`` removes the
    ones it empties, up to (not including) the root. A key always resolves inside the
    root, symbolic links included (``AccessDenied`` otherwise); :meth:`list` does not
    follow symbolic links. Limits of a file system show through: ``a`` and ``a/b``
    cannot both exist (``InvalidKey``), and on a case-insensitive file system ``A`` and
    ``a`` are one object. ``content_type`` is not stored: it always comes from the key.

    An object's ETag is the MD5 of its content, computed while writing or, for a file
    put there by other means, on first use; an upload through :meth:`put_upload` is
    tagged ``v-<uuid>`` instead, without a pass of MD5 over its bytes. Both are kept in
    the extended attribute ``user.reelflow.etag`` (where the file system has none, an
    upload is hashed after all, so that every process agrees on its ETag).
    """

    def __init__(self, name: str, root: Path, *, create: bool = True) -> None:
        super().__init__(name)
        if create:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise translate_os_error(
                    exc, f"cannot create the folder {root} of bucket '{name}'"
                ) from exc
        self.root = root.resolve()
        self.capabilities = Capabilities(folder=self.root)
        self._require_root()
        self._etags: dict[tuple[int, int], tuple[str, str]] = {}
        self._attributes = True  # False once saving an ETag attribute failed

    # -- writing -------------------------------------------------------------------------

    def put_stream(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        return self._put(key, stream, upload=False)

    def put_upload(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        return self._put(key, stream, upload=True)

    def _put(self, key: str, stream: BinaryIO, *, upload: bool) -> ObjectInfo:
        """Write the object; its ETag is its MD5, or for an upload a version tag where the
        file system keeps user attributes (else every process could not know it)."""
        key, path = self._path(key)
        self._require_root()
        version = upload and self._attributes
        tagged = False

        def tag(fd: int, md5: str | None) -> None:
            nonlocal tagged
            tagged = self._tag(fd, md5 or f"v-{uuid.uuid4().hex}")

        write_atomically(
            path,
            stream,
            lambda exc: self._translate(exc, key, "cannot write", writing=True),
            make_parents=True,
            md5=not version,
            before_sync=tag,
        )
        info = self._stat_written(key, path)
        if version and not tagged:
            # Learnt on this upload: no user attributes here. Its ETag is its MD5 (the tag
            # was never cached), and later uploads are hashed while they are written.
            self._attributes = False
            self._cache_etag(info, _stamp(info), self._hash(key, path))
        return self._info(key, path, info)

    def _tag(self, fd: int, etag: str) -> bool:
        """Give the file open as ``fd`` (written, not yet renamed into place) ``etag``;
        tell whether its extended attribute was saved. A version tag that could not be
        saved is not cached either: no process may ever see it."""
        info = os.fstat(fd)
        stamp = _stamp(info)
        saved = _save_etag(fd, stamp, etag)
        if saved or not etag.startswith("v-"):
            self._cache_etag(info, stamp, etag)
        return saved

    def _stat_written(self, key: str, path: Path) -> os.stat_result:
        try:
            return os.stat(path)
        except OSError as exc:
            raise self._translate(exc, key, "cannot write", writing=True) from exc

    def delete(self, key: str) -> None:
        key, path = self._path(key)
        try:
            # lstat: a symbolic link is the object itself; deleting it leaves its target.
            if stat_module.S_ISDIR(os.lstat(path).st_mode):
                return  # a folder is not an object: nothing named `key` to delete
            path.unlink()
        except OSError as exc:
            error = self._translate(exc, key, "cannot delete")
            if isinstance(error, ObjectNotFound):
                return
            raise error from exc
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                # Not empty (the usual case), already gone, or not ours to remove: the
                # object is deleted either way and an empty folder is harmless.
                return
            folder = folder.parent

    # -- reading -------------------------------------------------------------------------

    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        check_range(start, end)
        key, path = self._path(key)
        self._stat_file(key, path)
        try:
            raw = path.open("rb", buffering=0)
        except OSError as exc:
            raise self._translate(exc, key, "cannot read") from exc
        try:
            raw.seek(start)
        except OSError as exc:
            raw.close()
            raise self._translate(exc, key, "cannot read") from exc
        length = sys.maxsize if end is None else end - start + 1
        window = _Window(raw, length, lambda exc: self._translate(exc, key, "cannot read"))
        return io.BufferedReader(window, CHUNK_SIZE)

    def stat(self, key: str) -> ObjectInfo:
        key, path = self._path(key)
        return self._info(key, path, self._stat_file(key, path))

    def local_path(self, key: str) -> Path:
        key, path = self._path(key)
        self._stat_file(key, path)
        return path

    def list(
        self, prefix: str = "", *, start_after: str = "", limit: int = 1000
    ) -> builtins.list[ObjectInfo]:
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, got {limit}")
        self._require_root()
        prefix = prefix.removeprefix("/")
        folder = prefix.rpartition("/")[0]
        if folder:
            try:
                validate_key(folder)
            except InvalidKey:
                return []  # no valid key can start with this prefix
        start = self.root / folder
        if start.resolve() != start:
            return []  # a symbolic link on the way: not followed, as in the walk below
        found = []
        for key, path, info in self._walk(
            start, f"{folder}/" if folder else "", prefix, start_after
        ):
            try:
                found.append(self._info(key, path, info))
            except ObjectNotFound:
                continue  # deleted while listing: hashing it found nothing
            if len(found) == limit:
                break
        return found

    def _walk(
        self, folder: Path, base: str, prefix: str, start_after: str
    ) -> Iterator[tuple[str, Path, os.stat_result]]:
        """Yield the files under ``folder`` (whose keys start with ``base``) in key order.

        Key order is reached by visiting a folder's entries sorted by name, a sub-folder
        counting as ``name + "/"``: every key inside it starts with that string and no
        sibling name contains ``/``. Sub-folders that cannot hold a wanted key are skipped.
        """
        try:
            with os.scandir(folder) as scan:
                entries = builtins.list(scan)
        except (FileNotFoundError, NotADirectoryError):
            return  # removed meanwhile (a concurrent delete pruned it)
        except OSError as exc:
            raise translate_os_error(exc, f"cannot list bucket '{self.name}'") from exc
        named: builtins.list[tuple[str, os.DirEntry[str]]] = []
        for entry in entries:
            if is_temporary_name(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                named.append((f"{entry.name}/", entry))
            elif entry.is_file(follow_symlinks=False):
                named.append((entry.name, entry))
        named.sort(key=lambda pair: pair[0])
        for name, entry in named:
            key = base + name
            if key.endswith("/"):
                if _may_hold(key, prefix, start_after):
                    yield from self._walk(Path(entry.path), key, prefix, start_after)
            elif key.startswith(prefix) and key > start_after and _is_valid(key):
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted since the folder was read
                except OSError as exc:
                    raise translate_os_error(exc, f"cannot list bucket '{self.name}'") from exc
                yield key, Path(entry.path), info

    # -- helpers -------------------------------------------------------------------------

    def _path(self, key: str) -> tuple[str, Path]:
        """Validate ``key``; return it normalized with its path under root.

        The path is lexical (a symbolic link stays a link, so writing or deleting the key
        replaces or removes the link), but where it resolves to must be inside root.
        """
        key = validate_key(key)
        path = self.root / key
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (3.11, 3.12)
            raise AccessDenied(
                f"object key '{key}' in bucket '{self.name}' cannot be resolved: {exc}"
            ) from exc
        if not resolved.is_relative_to(self.root) or resolved == self.root:
            raise AccessDenied(
                f"object key '{key}' in bucket '{self.name}' leads outside the bucket folder "
                "through a symbolic link"
            )
        return key, path

    def _stat_file(self, key: str, path: Path) -> os.stat_result:
        """Stat ``path``; anything but a regular file (folder, FIFO...) is not an object."""
        try:
            info = os.stat(path)
        except OSError as exc:
            raise self._translate(exc, key, "cannot read") from exc
        if not stat_module.S_ISREG(info.st_mode):
            raise ObjectNotFound(f"object '{key}' does not exist in bucket '{self.name}'")
        return info

    def _require_root(self) -> None:
        if not self.root.is_dir():
            # Raised rather than recreated: a missing root is usually an unmounted volume,
            # and writing into the mount point would hide the objects once it is back.
            raise StorageError(
                f"bucket '{self.name}': its folder {self.root} is missing or not a folder"
            )

    def _translate(
        self, exc: OSError, key: str, action: str, *, writing: bool = False
    ) -> StorageError:
        """The reelflow error for ``exc``, met while doing ``action`` on ``key``.

        When writing, a file in the way of a folder (or the reverse) is a key conflict;
        otherwise it only means that the object does not exist.
        """
        if not self.root.is_dir():
            return StorageError(
                f"bucket '{self.name}': its folder {self.root} is missing or not a folder"
            )
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)) and not writing:
            return ObjectNotFound(f"object '{key}' does not exist in bucket '{self.name}'")
        if isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError)):
            return InvalidKey(
                f"{action} '{key}' in bucket '{self.name}': a local bucket cannot hold both an "
                "object and a folder of the same name (such as 'a' and 'a/b')"
            )
        return translate_os_error(exc, f"{action} '{key}' in bucket '{self.name}'")

    def _info(self, key: str, path: Path, info: os.stat_result) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=info.st_size,
            etag=self._etag(key, path, info),
            modified=_utc(info.st_mtime_ns),
            content_type=guess_content_type(key),
        )

    # -- ETag cache ----------------------------------------------------------------------

    def _etag(self, key: str, path: Path, info: os.stat_result) -> str:
        stamp = _stamp(info)
        cached = self._etags.get((info.st_dev, info.st_ino))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        etag = _load_etag(path, stamp)
        if etag is None:
            etag = self._hash(key, path)
            _save_etag(path, stamp, etag)
        self._cache_etag(info, stamp, etag)
        return etag

    def _cache_etag(self, info: os.stat_result, stamp: str, etag: str) -> None:
        if len(self._etags) >= _ETAG_CACHE_LIMIT:
            self._etags.clear()  # crude but bounded; the xattr still holds the values
        self._etags[(info.st_dev, info.st_ino)] = (stamp, etag)

    def _hash(self, key: str, path: Path) -> str:
        try:
            return file_md5(path)
        except OSError as exc:
            raise self._translate(exc, key, "cannot read") from exc


def _may_hold(folder_key: str, prefix: str, start_after: str) -> bool:
    """Tell whether a folder whose keys all start with ``folder_key`` may hold a key that
    starts with ``prefix`` and is greater than ``start_after``."""
    if not (folder_key.startswith(prefix) or prefix.startswith(folder_key)):
        return False
    # Every key inside is longer than folder_key, hence greater when start_after sorts
    # before it; otherwise only a start_after inside the folder leaves keys after it.
    return start_after < folder_key or start_after.startswith(folder_key)


def _is_valid(key: str) -> bool:
    # Files whose names are no valid key (a backslash, an undecodable byte) are not listed:
    # every listed key must work with stat() and open_read().
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True


def _utc(mtime_ns: int) -> datetime:
    # Integer arithmetic keeps the microseconds exact, which a float timestamp does not.
    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)


def _stamp(info: os.stat_result) -> str:
    return f"{info.st_size}:{info.st_mtime_ns}"


def _load_etag(path: Path, stamp: str) -> str | None:
    if sys.platform != "linux":
        return None
    try:
        value = os.getxattr(path, _ETAG_XATTR).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None  # no attribute yet, or a file system without user attributes
    saved_stamp, _, etag = value.rpartition("|")
    return etag if saved_stamp == stamp and _ETAG.match(etag) else None


def _save_etag(path: Path | int, stamp: str, etag: str) -> bool:
    if sys.platform != "linux":
        return False
    try:
        os.setxattr(path, _ETAG_XATTR, f"{stamp}|{etag}".encode("ascii"))
    except OSError:
        # A read-only file system or one without user attributes: the in-process cache
        # remains.
        return False
    return True


class _Window(io.RawIOBase):
    """At most ``length`` bytes of ``source`` from its current position, read-only.

    Also the boundary for errors met while the caller reads: they become ``translate(exc)``.
    """

    def __init__(
        self, source: io.FileIO, length: int, translate: Callable[[OSError], StorageError]
    ) -> None:
        super().__init__()
        self._source = source
        self._left = length
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._left)
        try:
            count = self._source.readinto(view[:wanted]) or 0
        except OSError as exc:
            raise self._translate(exc) from exc
        self._left -= count
        return count

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()
