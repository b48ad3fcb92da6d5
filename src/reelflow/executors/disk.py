"""A full local disk under a job, told apart from every other failure.

The job's scratch folder fills up in two ways: a write of reelflow's own (filter scripts,
a fetched source) fails with ``ENOSPC``/``EDQUOT``, or FFmpeg fails writing its outputs.
Both become ``DiskFull`` (``StorageError.DiskFull``), never ``InternalError`` or
``FFmpegFailed``. FFmpeg's case is decided from the file system, not from its stderr: the
run failed *and* the scratch file system has less than ``LOW_SPACE`` left for this user.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reelflow.errors import DiskFull

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
LOW_SPACE = 1024 * 1024  # bytes: less than this left means FFmpeg's write failed for room


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on ``path``'s file system."""
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def scratch_full(path: Path, what: str) -> DiskFull | None:
    """``DiskFull`` if ``path``'s file system is (nearly) out of space, else ``None``."""
    free = free_bytes(path)
    if free is None or free >= LOW_SPACE:
        return None
    return DiskFull(
        f"{what}: no space left on the device of {path} ({free} bytes free); free some space "
        "and submit the task again"
    )


@contextmanager
def disk_full_as_error(what: str) -> Iterator[None]:
    """Turn an ``OSError`` for a full disk or quota, raised in the block, into ``DiskFull``."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in FULL_ERRNOS:
            raise
        raise DiskFull(f"{what}: no space left on the device ({exc.strerror})") from exc
