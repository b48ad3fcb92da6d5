"""Sources fetched to the scratch folder once per machine, shared by the jobs that read them.

A task's probe job and its media job(s) all read the task's source; on one machine the
object is fetched once per version. An entry is ``<root>/<hash of name>-<hash of
version><suffix>``; each job gets its own hard link to it inside its work folder, so the
job's copy stays whole even if the entry is swept meanwhile, and removing the work folder
removes only the link. Fills of one entry are serialized with an advisory lock
(``flock``: between the threads of the local pool and the processes of a Celery worker
alike), so two jobs never fetch the same version at once; the second finds it fetched.
Entries unused for ``ttl`` seconds are removed by the next job that reads any source here
(POSIX only, like the rest of the job runtime's process handling).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


class SourceCache:
    """Fetched sources under ``root``; see the module docstring."""

    def __init__(self, root: Path, *, ttl: float = 600.0) -> None:
        self.root = root
        self.ttl = ttl

    def entry(self, name: str, version: str, suffix: str = "") -> Path:
        """Where the ``version`` (an ETag) of the source ``name`` is kept."""
        return self.root / f"{_digest(name, 32)}-{_digest(version, 16)}{suffix}"

    def link(
        self,
        name: str,
        version: str,
        dest: Path,
        fill: Callable[[Path], object],
        *,
        suffix: str = "",
        size: int | None = None,
    ) -> Path:
        """Make ``dest`` a copy of the source: a hard link to the cached entry, filled first
        with ``fill(entry)`` (which must write ``entry`` atomically) unless already there
        with ``size`` bytes (when given: an entry cut short by a power loss is refilled).
        ``fill``'s errors propagate and leave no entry. Returns ``dest``."""
        self.root.mkdir(parents=True, exist_ok=True)
        entry = self.entry(name, version, suffix)
        self._sweep()
        with self._locked(entry):
            if _has_size(entry, size):
                log.debug("source %s (%s) already fetched on this machine", name, version)
            else:
                fill(entry)
            os.utime(entry)  # its last use, for the sweep
            dest.unlink(missing_ok=True)
            try:
                os.link(entry, dest)
            except OSError:  # scratch spans file systems, or they refuse hard links
                shutil.copyfile(entry, dest)
        return dest

    def seed(self, name: str, version: str, path: Path, suffix: str = "") -> None:
        """Keep the file ``path`` (whole, not to be changed) as the ``version`` of
        ``name``, as if it had been fetched: a job that made an object and stored it
        elsewhere leaves its copy for the jobs on this machine that read it next. A hard
        link where the file system allows it, else a copy; renamed into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        entry = self.entry(name, version, suffix)
        self._sweep()
        with self._locked(entry):
            if entry.exists():
                return
            part = entry.with_name(f"{entry.name}.{os.getpid()}.seed")
            part.unlink(missing_ok=True)
            try:
                os.link(path, part)
            except OSError:
                shutil.copyfile(path, part)
            os.replace(part, entry)

    def drop(self, name: str, version: str, suffix: str = "") -> None:
        """Remove an entry no job will read again (the jobs holding links keep their copy)."""
        entry = self.entry(name, version, suffix)
        with self._locked(entry):
            entry.unlink(missing_ok=True)
        entry.with_name(entry.name + LOCK_SUFFIX).unlink(missing_ok=True)

    @contextmanager
    def _locked(self, entry: Path) -> Iterator[None]:
        lock = entry.with_name(entry.name + LOCK_SUFFIX)
        with lock.open("a") as handle:
            os.utime(lock)  # in use: not swept
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _sweep(self) -> None:
        """Remove entries, lock files and left-over temporary files unused for ``ttl``
        seconds. A lock removed while a process waits on it can at worst let one more fill
        of that entry run at the same time: fills are atomic, so that costs a fetch, never
        a wrong file."""
        cutoff = time.time() - self.ttl
        for path in self.root.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                continue  # swept by another process


def _has_size(path: Path, size: int | None) -> bool:
    try:
        found = path.stat().st_size
    except FileNotFoundError:
        return False
    return size is None or found == size
