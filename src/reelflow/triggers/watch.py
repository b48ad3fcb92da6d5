"""The folder watcher of a local bucket: files copied in by other means (cp, rsync, a mount)
fire their workflows once they have stopped growing.

Changes come from the OS (inotify, through ``watchfiles``). Ignored: reelflow's temporary
files (``.name.reelflow-tmp-*``) and every hidden file or folder (a leading dot: rsync's and
many tools' partial files, ``.doctor/``). An added folder is scanned, since files written
into it before its watch was set up raise no event.

Files that arrived while reelflow was down are found at start-up by a scan for files changed
(``ctime``, which rsync cannot backdate) after the checkpoint: the time up to which every
file has been handled, saved every few seconds while nothing is pending. A first start has
no checkpoint and fires nothing for files already there.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import watchfiles

from reelflow.catalog.triggered import Checkpoint, TriggerLedger
from reelflow.db.outage import DB_OUTAGES, Outage
from reelflow.errors import ReelflowError
from reelflow.object_keys import is_temporary_name
from reelflow.storage.base import Storage
from reelflow.triggers.base import ObjectNotice, Origin, Trigger
from reelflow.triggers.dispatch import Dispatcher
from reelflow.triggers.settle import Settler

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 5.0  # seconds
# File times may trail the clock (coarse timestamps, event latency): scan a little earlier.
MARGIN = timedelta(seconds=2)


def is_ignored(name: str) -> bool:
    return name.startswith(".") or is_temporary_name(name)


class FolderWatcher(Trigger):
    """``FolderWatcher(storage, dispatcher, ledger, settle=2.0)`` for one bucket that is a
    local folder (``storage.capabilities.folder``; ``ValueError`` otherwise)."""

    def __init__(
        self,
        storage: Storage,
        dispatcher: Dispatcher,
        ledger: TriggerLedger,
        *,
        settle: float = 2.0,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        if storage.capabilities.folder is None:
            raise ValueError(f"bucket '{storage.name}' is not a local folder: nothing to watch")
        self.storage = storage
        self.root = storage.capabilities.folder
        self.name = f"watch:{storage.name}"
        self._dispatcher = dispatcher
        self._ledger = ledger
        self._settler = Settler(settle)
        self._tick_ms = max(20, min(250, int(settle * 250)))
        self._now = wall_clock or (lambda: datetime.now(UTC))
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved_at = 0.0
        self._outage = Outage(self.name, log, base=1.0, cap=10.0)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until the watch is set up (files written from then on are seen)."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        root = self.root
        while not self._stop.is_set():
            try:
                self._catch_up()
                self._outage.succeeded()
                for changes in watchfiles.watch(
                    root,
                    watch_filter=None,
                    debounce=self._tick_ms,
                    step=min(50, self._tick_ms),
                    stop_event=self._stop,
                    rust_timeout=self._tick_ms,
                    yield_on_timeout=True,
                    ignore_permission_denied=True,
                    raise_interrupt=False,
                ):
                    self._ready.set()
                    for change, raw in changes:
                        if change is not watchfiles.Change.deleted:
                            self._seen(Path(raw))
                    self._settle()
            except DB_OUTAGES as exc:
                # Files not yet fired stay in the settler; the catch-up scan finds the rest.
                self._stop.wait(self._outage.failed(exc))
            except (OSError, RuntimeError, ReelflowError) as exc:
                # The folder vanished (unmounted volume) or the OS refused a watch: retry.
                log.warning("%s: watching %s failed: %s; retrying", self.name, root, exc)
                self._stop.wait(5.0)

    def _catch_up(self) -> None:
        checkpoint = self._ledger.checkpoint(self.storage.name)
        if checkpoint is None or checkpoint.watermark is None:
            self._save(force=True)
            return
        since = (checkpoint.watermark - MARGIN).timestamp()
        for path, info in self._files(self.root):
            if max(info.st_mtime, info.st_ctime) > since:
                self._settler.add(path)

    def _seen(self, path: Path) -> None:
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return
        if any(is_ignored(part) for part in relative.parts):
            return
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return
        if stat.S_ISDIR(mode):
            for found, _ in self._files(path):
                self._settler.add(found)
        elif stat.S_ISREG(mode):
            self._settler.add(path)

    def _settle(self) -> None:
        ready = self._settler.ready()
        notices = []
        for path in ready:
            key = path.relative_to(self.root).as_posix()
            notices.append(ObjectNotice(self.storage.name, key, origin=Origin.WATCH))
        if notices:
            try:
                self._dispatcher.fire_many(self.storage.name, notices)
            except DB_OUTAGES:
                for path in ready:  # fired again when the database is back
                    self._settler.add(path)
                raise
            self._outage.succeeded()
        if not len(self._settler):
            self._save()

    def _save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved_at < CHECKPOINT_EVERY:
            return
        try:
            self._ledger.save_checkpoint(self.storage.name, Checkpoint(None, self._now()))
        except DB_OUTAGES as exc:
            self._outage.failed(exc)  # logged once per outage; tried again in a while
            self._saved_at = now
            return
        except ReelflowError as exc:
            log.warning("%s: cannot save the checkpoint: %s", self.name, exc)
            return
        self._saved_at = now

    def _files(self, folder: Path) -> Iterator[tuple[Path, os.stat_result]]:
        """Regular files under ``folder``, hidden and temporary ones left out."""
        for current, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not is_ignored(d)]
            for name in files:
                if is_ignored(name):
                    continue
                path = Path(current) / name
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    yield path, info
