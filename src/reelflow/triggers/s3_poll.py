"""The S3 poller: for S3 buckets without event notifications, list new objects periodically.

S3 cannot list "what changed since"; the poller lists the folders of the enabled workflows
bound to the bucket and keeps the objects modified at or after
``max(floor, watermark - lookback)``, times being the store's own (``LastModified``):

* ``floor`` is the store's clock (the next whole second) when the poller first ran for this
  bucket: objects dated before it were there before and never fire;
* ``watermark`` is the newest ``LastModified`` seen so far;
* ``lookback`` covers what arrives late: S3 dates a multipart object by the start of its
  upload, which can be before the previous listing.

Objects seen again (within the lookback, or after a restart) are deduplicated by the
engine's ledger; the poller also remembers what it fired in this process to avoid asking.
Both times are saved in the checkpoint table after each listing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from reelflow.catalog.triggered import Checkpoint, TriggerLedger
from reelflow.storage.base import ObjectInfo, Storage
from reelflow.triggers.base import ObjectNotice, Origin
from reelflow.triggers.dispatch import Fired, NoticeDispatcher
from reelflow.triggers.periodic import PeriodicTrigger

log = logging.getLogger(__name__)

PAGE = 1000


class S3Poller(PeriodicTrigger):
    """``S3Poller(storage, dispatcher, ledger, interval=60, lookback=900)``."""

    failure = "polling failed"

    def __init__(
        self,
        storage: Storage,
        dispatcher: NoticeDispatcher,
        ledger: TriggerLedger,
        *,
        interval: float = 60.0,
        lookback: float = 900.0,
    ) -> None:
        self.storage = storage
        self.name = f"poll:{storage.name}"
        self.lookback = timedelta(seconds=lookback)
        self._dispatcher = dispatcher
        self._ledger = ledger
        self._handled: dict[tuple[str, str], datetime] = {}
        super().__init__(interval, outage_cap=min(interval, 30.0))

    def _pass(self) -> list[Fired]:
        return self.poll_once()

    def poll_once(self) -> list[Fired]:
        """One listing; returns what it fired. The first ever call only sets the floor."""
        bucket = self.storage.name
        checkpoint = self._ledger.checkpoint(bucket)
        if checkpoint is None or checkpoint.floor is None:
            floor = self._next_second()
            self._ledger.save_checkpoint(bucket, Checkpoint(floor=floor, watermark=floor))
            return []
        since = checkpoint.floor
        if checkpoint.watermark is not None:
            since = max(since, checkpoint.watermark - self.lookback)
        fresh = [info for info in self._listing(bucket) if info.modified >= since]
        fresh.sort(key=lambda info: (info.modified, info.key))
        notices = [
            ObjectNotice(bucket, info.key, info.etag, Origin.S3_POLL)
            for info in fresh
            if (info.key, info.etag) not in self._handled
        ]
        fired = self._dispatcher.fire_many(bucket, notices)
        for info in fresh:
            self._handled[(info.key, info.etag)] = info.modified
        self._handled = {k: t for k, t in self._handled.items() if t >= since}
        newest = max([info.modified for info in fresh], default=None)
        if newest is not None and (checkpoint.watermark is None or newest > checkpoint.watermark):
            self._ledger.save_checkpoint(bucket, Checkpoint(checkpoint.floor, newest))
        return fired

    def _next_second(self) -> datetime:
        """The first whole second of the store's clock after now: the floor.

        Object times are whole seconds, so an object dated in the current second may be
        older or newer than this call; waiting for the next second makes the boundary
        exact: everything dated before it was there before the poller's first run."""
        start = self.storage.server_time()
        for _ in range(15):
            if self._stop.wait(0.2):
                break
            now = self.storage.server_time()
            if now > start:
                return now
        return start + timedelta(seconds=1)

    def _listing(self, bucket: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        for prefix in self._dispatcher.trigger_dirs(bucket):
            marker = ""
            while True:
                page = self.storage.list(prefix, start_after=marker, limit=PAGE)
                found += page
                if len(page) < PAGE:
                    break
                marker = page[-1].key
        return found
