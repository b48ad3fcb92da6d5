"""Which files have stopped growing: a file is ready once its size and modification time
have not changed for ``settle`` seconds (a cp or rsync in progress keeps changing both)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Pending:
    signature: tuple[int, int]
    since: float


class Settler:
    """Tracks candidate files; :meth:`ready` hands each out once it is stable.

    Not thread-safe: owned by one watcher thread. A file that disappears or stops being a
    regular file is forgotten; one that changes again after being handed out must be added
    again (the watcher does so on its next event).
    """

    def __init__(self, settle: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle
        self._clock = clock
        self._pending: dict[Path, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, path: Path) -> None:
        signature = _signature(path)
        if signature is None:
            self._pending.pop(path, None)
            return
        known = self._pending.get(path)
        if known is None or known.signature != signature:
            self._pending[path] = _Pending(signature, self._clock())

    def ready(self) -> list[Path]:
        """The files stable for ``settle`` seconds, in path order; they are forgotten."""
        now = self._clock()
        done: list[Path] = []
        for path in sorted(self._pending):
            entry = self._pending[path]
            signature = _signature(path)
            if signature is None:
                del self._pending[path]
            elif signature != entry.signature:
                self._pending[path] = _Pending(signature, now)
            elif now - entry.since >= self.settle:
                del self._pending[path]
                done.append(path)
        return done


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size, info.st_mtime_ns
