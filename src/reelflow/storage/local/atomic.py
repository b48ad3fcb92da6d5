"""Writing a local file atomically: through a temporary sibling, fsynced, then renamed
into place. How the local backend writes every object."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO

from reelflow.errors import StorageError
from reelflow.object_keys import temporary_name
from reelflow.storage.base import CHUNK_SIZE, FillingStream
from reelflow.storage.local.writeback import Writeback


def write_atomically(
    path: Path,
    stream: BinaryIO,
    translate: Callable[[OSError], StorageError],
    *,
    make_parents: bool = False,
    md5: bool = True,
    before_sync: Callable[[int, str | None], None] | None = None,
) -> tuple[int, str | None]:
    """Write ``stream`` to ``path`` through a temporary sibling; return (size, hex MD5 of
    the content, or None without ``md5``).

    The data is copied in chunks to ``.<name>.reelflow-tmp-<uuid>`` in the same folder
    (written out to disk as it comes, see ``storage.local.writeback``), fsynced, then renamed
    over ``path``, and the folder is fsynced so the rename survives
    a crash. ``before_sync(fd, md5)`` is called once the data is written, before the
    fsync (so whatever it sets on the file, such as an extended attribute, is as durable
    as the data and there before the file appears under its name). With ``make_parents``
    missing folders are created first. On any failure the
    temporary file is removed; an ``OSError`` of the destination is raised as
    ``translate(exc)``, and whatever ``stream`` raised propagates unchanged.
    """
    tmp = path.with_name(temporary_name(path.name, uuid.uuid4().hex))
    try:
        out = _create_exclusive(tmp, make_parents=make_parents)
    except OSError as exc:
        raise translate(exc) from exc
    digest = hashlib.md5(usedforsecurity=False) if md5 else None
    size = 0
    reading = False
    read = _reader(stream)
    try:
        with out:
            writeback = Writeback(out.fileno())
            while True:
                reading = True
                chunk = read()
                reading = False
                if not chunk:
                    break
                if digest is not None:
                    digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if size >= writeback.due:
                    out.flush()
                    writeback.wrote(size)
            out.flush()
            if before_sync is not None:
                before_sync(out.fileno(), None if digest is None else digest.hexdigest())
            os.fsync(out.fileno())
        os.replace(tmp, path)
        fsync_directory(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if reading:
            raise  # the caller's stream failed, not the storage: its error is its own
        raise translate(exc) from exc
    except BaseException:
        # BaseException too: a KeyboardInterrupt or a cancelled job must not leave litter.
        tmp.unlink(missing_ok=True)
        raise
    return size, None if digest is None else digest.hexdigest()


def _reader(stream: BinaryIO) -> Callable[[], bytes | memoryview]:
    """A function returning ``stream``'s next chunk (empty at the end)."""
    if not isinstance(stream, FillingStream):
        return partial(stream.read, CHUNK_SIZE)
    buffer = memoryview(bytearray(CHUNK_SIZE))
    fill = stream.readinto

    def read() -> memoryview:
        return buffer[: fill(buffer) or 0]

    return read


def _create_exclusive(path: Path, *, make_parents: bool) -> BinaryIO:
    attempt = 0
    while True:
        attempt += 1
        try:
            if make_parents:
                path.parent.mkdir(parents=True, exist_ok=True)
            return path.open("xb")
        except (FileNotFoundError, FileExistsError):
            # A concurrent delete prunes the folders it empties, possibly one that mkdir
            # just made or found, so try again; a file really in the way fails every time.
            if not make_parents or attempt == 5:
                raise


def fsync_directory(path: Path) -> None:
    """Make a rename in ``path`` durable; a no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
