"""A doorbell that threads ring and asyncio handlers wait on: how a long poll of the
embedded queue learns at once that a message was put, without a thread per waiter.

    seen = bell.version(key)        # before looking for messages
    ... nothing found ...
    await bell.wait(key, seen, 5.0)  # returns at once if rung since ``seen``

Only rings in this process are heard; a waiter also re-checks on its own every few
seconds, so messages put by another server are found too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable


class Doorbell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[Hashable, int] = {}
        self._waiters: dict[
            Hashable, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]
        ] = {}

    def version(self, key: Hashable) -> int:
        with self._lock:
            return self._versions.get(key, 0)

    def ring(self, key: Hashable) -> None:
        """Wake every waiter on ``key`` (any thread)."""
        with self._lock:
            self._versions[key] = self._versions.get(key, 0) + 1
            waiters = self._waiters.pop(key, [])
        for loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, key: Hashable, seen: int, timeout: float) -> bool:
        """Wait until ``key`` is rung after version ``seen`` (True) or ``timeout`` s pass."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            if self._versions.get(key, 0) != seen:
                return True
            self._waiters.setdefault(key, []).append(entry)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                waiting = self._waiters.get(key)
                if waiting is not None and entry in waiting:
                    waiting.remove(entry)
                    if not waiting:
                        del self._waiters[key]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
