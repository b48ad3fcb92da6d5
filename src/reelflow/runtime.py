"""The wiring of one reelflow process: every part chosen once, from ``Settings``.

``Runtime`` owns the database engine, buckets, planner, engine, executor and scheduler,
and closes them in reverse order. The CLI, the server and workers all start here.

On the first start it creates the admin account and its key (``admin_key``, set only on
that start). Buckets come from the settings (``reelflow.toml``; a local ``media`` always);
each configured bucket not yet owned by an account becomes its configured ``owner``'s
(default ``admin``; the account is created if missing). Triggers are built here and started
by the server (``triggers.start()``), which also calls :meth:`Runtime.create_default_workflow`
on that first start.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from reelflow.catalog.accounts import ADMIN_ACCOUNT, Account, Accounts, NewKey
from reelflow.catalog.buckets import BucketExists, BucketInfo, Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.triggered import TriggerLedger
from reelflow.catalog.workflows import WorkflowRecord, Workflows
from reelflow.config import Settings
from reelflow.db.outage import Outage, until_reachable
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.errors import ReelflowError
from reelflow.executors.jobs import JobRuntime, outage_patience
from reelflow.executors.registry import build_executor
from reelflow.executors.scratch import sweep as sweep_scratch
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.net.egress import EgressPolicy
from reelflow.notify.backoff import Backoff
from reelflow.notify.deliveries import DeliveryStore
from reelflow.notify.dispatcher import Dispatcher
from reelflow.notify.outbox import OutboxWriter
from reelflow.notify.queues import MessageQueues
from reelflow.notify.records import OutboxRecords
from reelflow.notify.sinks.registry import DefaultSinks
from reelflow.object_keys import validate_bucket_name
from reelflow.planner.plan import DefaultPlanner
from reelflow.presets.workflow import default_workflow_spec
from reelflow.storage.base import Storage
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.registry import (
    DEFAULT_BUCKET,
    StorageRegistry,
    bucket_configs,
    build_storages,
)
from reelflow.triggers.service import TriggerService

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_BUCKET", "Runtime", "default_storages"]

# The buckets of the settings: a fresh data dir has one local bucket, ``media``.
default_storages = build_storages


def _backend(storage: Storage) -> tuple[str, str | None]:
    """How the buckets table describes a configured bucket: backend name and local path."""
    folder = storage.capabilities.folder
    if folder is not None:
        return "local", str(folder)
    return type(storage).__name__.removesuffix("Storage").lower()[:16], None


class Runtime:
    """Every long-lived part of a reelflow process."""

    def __init__(self, settings: Settings, *, storages: StorageRegistry | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = create_db_engine(settings.resolved_database_url())
        # A database still starting (or failing over) is waited for, saying so once.
        until_reachable(lambda: migrate(self.db), Outage("start-up", log))
        self.sessions = session_factory(self.db)
        self.bucket_configs = bucket_configs(settings)
        self.storages = storages if storages is not None else build_storages(settings)
        self.accounts = Accounts(self.sessions)
        self.admin_key: NewKey | None = self.accounts.ensure_admin()
        admin = self.accounts.admin()
        if admin is None:  # ensure_admin just made sure there is one
            raise RuntimeError("no admin account after ensure_admin")
        self.admin_account: Account = admin
        self.buckets = Buckets(self.sessions)
        if storages is None:
            self._load_created_buckets()
        self._own_buckets()
        self.templates_service = Templates(self.sessions)
        # Where accounts' URL inputs and notification targets may connect (one policy).
        self.egress = EgressPolicy.from_settings(settings)
        self.workflows = Workflows(
            self.sessions, self.templates_service, self.buckets, egress=self.egress
        )
        self.planner = DefaultPlanner(fuse=settings.executor == "local")
        self.engine = Engine(
            self.sessions,
            self.planner,
            settings,
            templates=self.templates_service,
            buckets=self.buckets,
            egress=self.egress,
        )
        self.ffmpeg: Path = find_ffmpeg(settings.ffmpeg)
        # Before any job runs: what processes killed earlier left behind (their attempts
        # are run again by the engine) only takes disk space and CPU.
        sweep_scratch(settings.data_dir / "scratch")
        self.jobs = JobRuntime(
            self.ffmpeg,
            self.storages,
            settings.data_dir / "scratch",
            url_max_bytes=settings.url_max_bytes,
            url_timeout=settings.url_timeout,
            egress=self.egress,
            max_input_pixels=settings.max_input_pixels,
            outage_patience=outage_patience(settings.outage_budget_seconds),
        )
        self.executor = build_executor(settings, self.jobs)
        self.scheduler = Scheduler(self.engine, self.executor, settings)
        self.engine.on_jobs_added = self.scheduler.wake
        self._wire_notifications(settings)
        self.triggers = TriggerService(
            self.storages,
            self.bucket_configs,
            TriggerLedger(self.sessions),
            self.workflows,
            self.engine,
            settle_seconds=settings.watch_settle_ms / 1000,
        )
        self._closed = False

    def create_default_workflow(self) -> WorkflowRecord | None:
        """The admin's enabled workflow ``default`` (``media/in/`` -> ``media/out/``), so that
        a new server works on the first upload. An ordinary workflow: it can be edited,
        disabled or deleted. The server calls this only on the start that created the admin
        account (a new database), which is the record that it was made once: a deleted
        ``default`` is never made again. ``None`` (and a warning) if it cannot be made, e.g.
        when ``reelflow.toml`` gives ``media`` to another account.
        """
        spec = default_workflow_spec()
        try:
            record = self.workflows.create(self.admin_account.id, spec, enabled=True)
        except ReelflowError as exc:
            log.warning("the workflow %r was not created: %s", spec.name, exc.message)
            return None
        log.info(
            "created the workflow %r (id %d): uploads to %s/%s start a task writing to %s/%s",
            spec.name,
            record.id,
            spec.trigger.bucket,
            spec.trigger.dir,
            spec.output_bucket,
            spec.output_dir,
        )
        return record

    def _load_created_buckets(self) -> None:
        """Local buckets made through the API live in the database, not in reelflow.toml."""
        for info in self.buckets.local():
            if info.name not in self.storages and info.path:
                self.storages.add(LocalStorage(info.name, Path(info.path)))

    def create_bucket(self, account: Account, name: str) -> BucketInfo:
        """A new local bucket (a folder under the data dir) owned by ``account``."""
        validate_bucket_name(name)
        if name in self.storages:
            raise BucketExists(f"bucket '{name}' already exists; choose another name")
        root = (self.settings.data_dir / "buckets" / name).resolve()
        info = self.buckets.create(name, account.id, path=str(root))
        root.mkdir(parents=True, exist_ok=True)
        self.storages.add(LocalStorage(name, root))
        return info

    def _own_buckets(self) -> None:
        """Register each bucket as its configured owner's (an existing owner is kept)."""
        for name in self.storages.names():
            backend, path = _backend(self.storages.get(name))
            config = self.bucket_configs.get(name)
            wanted = config.owner if config is not None else ADMIN_ACCOUNT
            owner = self._account(wanted)
            actual = self.buckets.ensure(name, owner.id, backend=backend, path=path)
            if actual != owner.id:
                log.warning(
                    "bucket %s belongs to account %s, not to its configured owner %r: "
                    "ownership is only set when a bucket is first registered",
                    name,
                    actual,
                    wanted,
                )

    def _account(self, name: str) -> Account:
        if name == ADMIN_ACCOUNT:
            return self.admin_account
        found = self.accounts.get(name)
        if found is not None:
            return found
        log.info("creating account %r, the configured owner of a bucket", name)
        return self.accounts.create_account(name)

    def _wire_notifications(self, settings: Settings) -> None:
        """The outbox writes events in the engine's transactions; the dispatcher (started
        by the server, not here) delivers them, woken by each commit that wrote one."""
        self.queues = MessageQueues(self.sessions)
        self.outbox = OutboxWriter(self.sessions, settings.notify_max_retry_seconds)
        self.engine.observer = self.outbox
        self.outbox_records = OutboxRecords(self.sessions)
        backoff = Backoff(
            base=settings.notify_retry_base_seconds,
            cap=settings.notify_retry_cap_seconds,
            total=settings.notify_max_retry_seconds,
        )
        self.deliveries = DeliveryStore(self.sessions, backoff)
        self.sinks = DefaultSinks(self.queues, egress=self.egress)
        self.dispatcher = Dispatcher(
            self.deliveries,
            self.sinks,
            workers=settings.notify_workers,
            per_target=settings.notify_per_target,
            poll=settings.notify_poll_seconds,
        )
        self.outbox.on_written = self.dispatcher.wake

    def close(self) -> None:
        """Stop running jobs (requeued for the next start) and release the database.

        Idempotent: the server calls it from its shutdown path and again on exit."""
        if self._closed:
            return
        self._closed = True
        self.triggers.close()  # no new tasks from here on
        self.scheduler.stop()
        self.dispatcher.stop()  # unsent claims go back; sends in progress may finish
        self.sinks.close()
        self.db.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
