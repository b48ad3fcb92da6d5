"""A child process that dies with the process that started it, whatever killed that one.

FFmpeg runs in its own session (so one ``killpg`` reaches its helpers), which also means
nothing stops it when reelflow is SIGKILLed: it keeps encoding next to the restarted
server's retry. Linux's parent-death signal closes that gap: set in the child between
``fork`` and ``exec``, the kernel sends SIGKILL to the child as soon as its parent dies.

The kernel's "parent" is the *thread* that forked. The runner forks from the thread that
then waits for the child and reaps it before returning, so that thread outlives the child
unless the whole process dies, which is exactly when the signal must fire.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_GONE = 125  # exit status of a child whose parent died before it could exec


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that arms SIGKILL-on-parent-death.

    ``None`` off Linux, where there is no such signal (the startup sweep still stops
    FFmpeg children left by a dead process). Call it in the parent just before ``Popen``:
    it looks up ``prctl`` there, so the child only calls two functions before ``exec``.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def arm() -> None:
        # Runs in the forked child. If arming fails the child must not run unguarded.
        if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(_PARENT_GONE)
        # The parent may have died between fork and prctl: then no signal will ever come,
        # and the child has been handed to init (or a subreaper) already.
        if os.getppid() != parent:
            os._exit(_PARENT_GONE)

    return arm
