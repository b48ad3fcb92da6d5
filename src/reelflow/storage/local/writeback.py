"""Write a file's data to disk while it is still being written, so its final fsync is short.

A file written in full and then fsynced costs the time to receive it *plus* the time to
write it out: the kernel keeps the dirty pages in memory until the fsync (its background
flusher starts once dirty data passes 10% of free memory or is 30 s old, by default).
:class:`Writeback` asks Linux to start writing each ``window`` as soon as it is complete
(``sync_file_range`` with ``SYNC_FILE_RANGE_WRITE``, which does not wait), and waits for
the window before it: the disk works while the rest arrives, the dirty data of one file
stays under two windows, and the final fsync has about one window left to write.

It never replaces the fsync: ``sync_file_range`` makes nothing durable (no metadata, no
disk cache flush). Off Linux, or where the call is missing, it does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache

WINDOW = 8 * 1024 * 1024
_NEVER = 1 << 62

# <linux/fs.h>
_WAIT_BEFORE = 1
_WRITE = 2
_WAIT_AFTER = 4

_SyncFileRange = Callable[[int, int, int, int], int]


@cache
def _sync_file_range() -> _SyncFileRange | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    call: _SyncFileRange = function
    return call


class Writeback:
    """Tracks how much of the file open as ``fd`` was written: call :meth:`wrote` once the
    file holds ``due`` bytes or more (in the kernel: flush a buffered writer first)."""

    def __init__(self, fd: int, window: int = WINDOW) -> None:
        self._fd = fd
        self._window = window
        self._call = _sync_file_range()
        self._started = 0  # writeback was started for [0, _started)
        self._waited = 0  # and finished for [0, _waited)
        self.due = window if self._call is not None else _NEVER

    def wrote(self, size: int) -> None:
        """The file now holds ``size`` bytes; start writing out each complete window."""
        call = self._call
        if call is None or size < self.due:
            return
        end = size - size % self._window
        if call(self._fd, self._started, end - self._started, _WRITE) != 0:
            self._give_up()
            return
        # Wait for what was started before: dirty data stays under two windows, and a
        # disk slower than the network holds the upload back instead of the final fsync.
        if self._waited < self._started:
            flags = _WAIT_BEFORE | _WRITE | _WAIT_AFTER
            if call(self._fd, self._waited, self._started - self._waited, flags) != 0:
                self._give_up()
                return
            self._waited = self._started
        self._started = end
        self.due = end + self._window

    def _give_up(self) -> None:
        # An error here (EIO, ENOSPC...) shows again at the fsync, which reports it; until
        # then the file is written the plain way.
        self._call = None
        self.due = _NEVER
