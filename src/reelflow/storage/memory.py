"""An in-memory bucket: the fake that unit tests use instead of a folder or S3."""

from __future__ import annotations

import builtins
import hashlib
import io
import threading
from datetime import UTC, datetime
from typing import BinaryIO

from reelflow.errors import ObjectNotFound, StorageError
from reelflow.object_keys import validate_key
from reelflow.storage.base import CHUNK_SIZE, ObjectInfo, Storage, check_range, guess_content_type


class MemoryStorage(Storage):
    """A bucket held in a dict, with the same contract as the real backends.

    Writes are atomic (the object is swapped in only once the stream is read to the end)
    and, unlike a local folder, ``a`` and ``a/b`` may coexist, as on S3.

    ``fail_writes`` simulates a bucket that cannot be written, for tests of what happens
    when an output cannot be stored: ``True`` makes every ``put_*`` raise a retryable
    ``StorageError``; an exception instance is raised as is (e.g. ``AccessDenied(...)``).
    It may be changed at any time; reads and deletes are not affected.
    """

    def __init__(self, name: str, *, fail_writes: bool | StorageError = False) -> None:
        super().__init__(name)
        self.fail_writes = fail_writes
        self._objects: dict[str, tuple[bytes, ObjectInfo]] = {}
        self._lock = threading.Lock()

    def put_stream(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        key = validate_key(key)
        if isinstance(self.fail_writes, StorageError):
            raise self.fail_writes
        if self.fail_writes:
            raise StorageError(f"cannot write '{key}' to bucket '{self.name}': writes disabled")
        buffer = bytearray()
        digest = hashlib.md5(usedforsecurity=False)
        while chunk := stream.read(CHUNK_SIZE):
            buffer += chunk
            digest.update(chunk)
        info = ObjectInfo(
            key=key,
            size=len(buffer),
            etag=digest.hexdigest(),
            modified=datetime.now(UTC),
            content_type=content_type or guess_content_type(key),
        )
        with self._lock:
            self._objects[key] = (bytes(buffer), info)
        return info

    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        check_range(start, end)
        data, _ = self._get(key)
        return io.BytesIO(data[start : None if end is None else end + 1])

    def stat(self, key: str) -> ObjectInfo:
        return self._get(key)[1]

    def delete(self, key: str) -> None:
        key = validate_key(key)
        with self._lock:
            self._objects.pop(key, None)

    def list(
        self, prefix: str = "", *, start_after: str = "", limit: int = 1000
    ) -> builtins.list[ObjectInfo]:
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, got {limit}")
        prefix = prefix.removeprefix("/")
        with self._lock:
            infos = [info for _, info in self._objects.values()]
        wanted = [i for i in infos if i.key.startswith(prefix) and i.key > start_after]
        return sorted(wanted, key=lambda info: info.key)[:limit]

    def _get(self, key: str) -> tuple[bytes, ObjectInfo]:
        key = validate_key(key)
        with self._lock:
            found = self._objects.get(key)
        if found is None:
            raise ObjectNotFound(f"object '{key}' does not exist in bucket '{self.name}'")
        return found
