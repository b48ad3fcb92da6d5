"""Scratch space shared by the reelflow processes of one machine, and its startup sweep.

Several processes may use one scratch dir (a server and workers on one data dir), so each
keeps to a folder named after itself, and a process only ever cleans up after processes
that are gone::

    <scratch>/<host>-<pid>-<started>/     one process (started: its creation time, 1/100 s)
        ffmpeg/<pid>                      one FFmpeg child running (its process group)
        <job id>-<random>/                one job attempt: sources, outputs

A process is named by its PID *and* creation time, so a reused PID is never mistaken for a
dead owner coming back to life. A process that exits normally leaves an empty folder; one
that is killed leaves its attempts' folders and maybe FFmpeg children (if the parent-death
signal could not stop them): :func:`sweep` removes both when the next process starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

_CHILDREN = "ffmpeg"
# <host>-<pid>-<started>; a host name may itself contain "-".
_OWNER = re.compile(r"^(?P<host>.+)-(?P<pid>[0-9]+)-(?P<started>[0-9]+)$")
# Creation times are read as boot time + ticks since boot; the boot time moves when the
# clock is stepped (NTP), so two readings of one process may differ by about a second.
# Two processes with one PID are never created within two seconds of each other (the PID
# space would have to wrap around in between).
_SAME_PROCESS = 200  # hundredths of a second


def _started(pid: int) -> int | None:
    """When ``pid`` was created, in 1/100 s since the epoch; ``None`` if there is no such
    process (or it cannot be read)."""
    try:
        return round(psutil.Process(pid).create_time() * 100)
    except psutil.Error:
        return None


def _alive(pid: int, started: int) -> bool:
    """Is ``pid`` still the process created at ``started``, and not dead-but-unreaped?"""
    try:
        proc = psutil.Process(pid)
        now = round(proc.create_time() * 100)
        zombie = proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # cannot tell (access denied): keep its folder
    return not zombie and abs(now - started) <= _SAME_PROCESS


class Scratch:
    """This process's folder (``dir``) in a shared scratch dir; also the runner's
    ``ChildRecords``: ``add``/``discard`` note the FFmpeg children this process runs.

    Job attempts make their folders in ``dir`` and remove them when done.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        pid = os.getpid()
        started = _started(pid)
        if started is None:  # without it, a sweep could not tell this process from a dead one
            raise RuntimeError(f"cannot read this process's creation time (pid {pid})")
        self.dir = root / f"{socket.gethostname()}-{pid}-{started}"

    def add(self, pid: int, binary: Path) -> None:
        """Record a running child (unreaped, so ``pid`` is still that child)."""
        started = _started(pid)
        record = {"pid": pid, "started": started, "binary": str(binary)}
        folder = self.dir / _CHILDREN
        folder.mkdir(parents=True, exist_ok=True)
        (folder / str(pid)).write_text(json.dumps(record))

    def discard(self, pid: int) -> None:
        """Forget a child once it is reaped."""
        with contextlib.suppress(FileNotFoundError):
            (self.dir / _CHILDREN / str(pid)).unlink()


@dataclass(frozen=True, slots=True)
class Swept:
    """What :func:`sweep` did: folders of dead processes removed, FFmpeg groups killed."""

    folders: int = 0
    killed: int = 0


def sweep(root: Path, *, host: str | None = None) -> Swept:
    """Clean up after the processes of this machine (``host``) that used ``root`` and died.

    For each such process: SIGKILL the process group of every FFmpeg child it recorded
    that still runs, then remove its folder. Folders of live processes, of other machines
    (a scratch dir on a shared volume) and anything not named like an owner are left alone.
    Safe to run from several processes at once.
    """
    host = socket.gethostname() if host is None else host
    folders = killed = 0
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return Swept()
    for entry in entries:
        match = _OWNER.match(entry.name)
        if match is None or not entry.is_dir() or match["host"] != host:
            continue
        if _alive(int(match["pid"]), int(match["started"])):
            continue  # a live process: its folders are its own business
        killed += _kill_children(entry / _CHILDREN)
        shutil.rmtree(entry, ignore_errors=True)
        folders += 1
    if folders or killed:
        log.info(
            "scratch %s: removed the folders of %d stopped process(es), killed %d FFmpeg "
            "process group(s) they left running",
            root,
            folders,
            killed,
        )
    return Swept(folders=folders, killed=killed)


def _kill_children(folder: Path) -> int:
    """SIGKILL the groups recorded in ``folder`` that still run; wait until they are gone."""
    try:
        records = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    victims: list[psutil.Process] = []
    killed = 0
    for path in records:
        try:
            record = json.loads(path.read_text())
            pid, started, binary = int(record["pid"]), record["started"], str(record["binary"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("scratch: unreadable FFmpeg record %s, ignored", path)
            continue
        leader = _leader(pid, started, binary)
        if leader is False:
            continue  # the PID belongs to another process now: not ours to signal
        try:
            # With the leader gone, a live group ``pid`` can only be its leftover members:
            # Linux does not reuse a PID while a process group of that id exists.
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        except PermissionError:
            log.warning("scratch: not allowed to stop FFmpeg process group %d", pid)
            continue
        killed += 1
        if isinstance(leader, psutil.Process):
            victims.append(leader)
    psutil.wait_procs(victims, timeout=2)  # so its files are closed before the rmtree
    return killed


def _leader(pid: int, started: object, binary: str) -> psutil.Process | bool:
    """The recorded FFmpeg if it still runs; ``True`` if ``pid`` is free; ``False`` if
    ``pid`` is some other process now."""
    try:
        proc = psutil.Process(pid)
        now = round(proc.create_time() * 100)
        argv0 = proc.cmdline()[:1]
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
    if not isinstance(started, int) or abs(now - started) > _SAME_PROCESS:
        return False
    if argv0 and argv0 != [binary]:
        return False
    return proc
