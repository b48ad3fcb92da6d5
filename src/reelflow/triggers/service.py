"""Every trigger of a process, built once from the configured buckets; started by
``reelflow serve`` (``start``) and stopped with the server's services (``close``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from reelflow.catalog.deferred import DeferredTriggers
from reelflow.catalog.schedules import Schedules
from reelflow.catalog.triggered import TriggerLedger
from reelflow.catalog.workflows import Workflows
from reelflow.config.buckets import BucketConfig, LocalBucketConfig, S3BucketConfig
from reelflow.engine.service import Engine
from reelflow.storage.base import Storage
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.base import Trigger
from reelflow.triggers.deferred import DeferredStarts
from reelflow.triggers.dispatch import NoticeDispatcher
from reelflow.triggers.s3_events import S3Target
from reelflow.triggers.s3_poll import S3Poller
from reelflow.triggers.upload import UploadTrigger
from reelflow.triggers.watch import FolderWatcher

log = logging.getLogger(__name__)


class TriggerService:
    """The dispatcher, the upload hook, the S3 event targets and the running triggers.

    Chosen by what each bucket declares (``storage.capabilities``), never by its class.
    Folder watchers: every bucket that is a local folder, unless its configuration has
    ``watch = false``. With ``deferred``, the pass that starts deferred workflow starts
    (``reelflow.triggers.deferred``). S3 event targets: every bucket configured as S3 whose
    store announces new objects; pollers: those of them with ``events = false`` and
    ``poll_interval > 0``.
    """

    def __init__(
        self,
        storages: StorageRegistry,
        configs: Mapping[str, BucketConfig],
        ledger: TriggerLedger,
        workflows: Workflows,
        engine: Engine,
        *,
        settle_seconds: float = 2.0,
        schedules: Schedules | None = None,
        deferred: DeferredTriggers | None = None,
    ) -> None:
        self.ledger = ledger
        self.deferred = deferred
        self.dispatcher = NoticeDispatcher(
            workflows, engine, storages, ledger, schedules, deferred=deferred
        )
        self.upload = UploadTrigger(self.dispatcher)
        self.s3_targets: list[S3Target] = []
        self.triggers: list[Trigger] = []
        if deferred is not None:
            self.triggers.append(DeferredStarts(self.dispatcher, deferred, engine))
        self._started = False
        for name in storages.names():
            storage = storages.get(name)
            config = configs.get(name)
            if storage.capabilities.folder is not None:
                watch = config.watch if isinstance(config, LocalBucketConfig) else True
                if watch:
                    self.triggers.append(
                        FolderWatcher(storage, self.dispatcher, ledger, settle=settle_seconds)
                    )
            elif isinstance(config, S3BucketConfig):
                self._add_s3(name, storage, config)

    def _add_s3(self, name: str, storage: Storage, config: S3BucketConfig) -> None:
        capabilities = storage.capabilities
        if not capabilities.native_events:
            return
        target = S3Target(name, config.bucket, capabilities.key_prefix, config.hook_token)
        self.s3_targets.append(target)
        if not config.events and config.poll_interval > 0:
            self.triggers.append(
                S3Poller(
                    storage,
                    self.dispatcher,
                    self.ledger,
                    interval=config.poll_interval,
                    lookback=config.poll_lookback,
                )
            )

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for trigger in self.triggers:
            trigger.start()
            log.info("trigger started: %s", trigger.name)

    def close(self) -> None:
        for trigger in reversed(self.triggers):
            trigger.close()
        self._started = False
