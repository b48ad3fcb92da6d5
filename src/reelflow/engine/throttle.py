"""Which progress reports are worth a database write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

# Progress arrives several times a second per job; write it only when it moved this much...
PROGRESS_STEP = 1.0
# ...or, if it moved at all, when this many seconds passed since the last write.
PROGRESS_INTERVAL = 1.0


class ProgressThrottle:
    """Remembers the last written progress per key; thread-safe.

    ``should_write`` answers yes for the first value, a move of ``step`` points or more, or
    any move once ``interval`` seconds passed; it records the value when it says yes.
    """

    def __init__(
        self,
        *,
        step: float = PROGRESS_STEP,
        interval: float = PROGRESS_INTERVAL,
        capacity: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._step = step
        self._interval = interval
        self._capacity = capacity
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: dict[Hashable, tuple[float, float]] = {}

    def should_write(self, key: Hashable, value: float) -> bool:
        now = self._monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None:
                moved = abs(value - last[0])
                if moved == 0 or (moved < self._step and now - last[1] < self._interval):
                    return False
            if len(self._last) >= self._capacity:
                # Keys of jobs that never finished (killed workers) must not pile up forever.
                self._last.clear()
            self._last[key] = (value, now)
            return True

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._last.pop(key, None)
