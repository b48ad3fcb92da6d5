"""The wiring of one reelflow process: every part chosen once, from ``Settings``.

``Runtime`` owns the database engine, buckets, planner, engine, executor and scheduler,
and closes them in reverse order. The CLI, the server and workers all start here.

On the first start it creates the admin account and its key (``admin_key``, set only on
that start), and every configured bucket not yet owned by an account becomes the admin's.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from reelflow.config import Settings
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.accounts import Account, Accounts, NewKey
from reelflow.engine.buckets import Buckets
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.engine.templates import Templates
from reelflow.engine.workflows import Workflows
from reelflow.executors.jobs import JobRuntime
from reelflow.executors.registry import build_executor
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.planner.plan import DefaultPlanner
from reelflow.storage.base import Storage
from reelflow.storage.local import LocalStorage
from reelflow.storage.registry import StorageRegistry

DEFAULT_BUCKET = "media"


def default_storages(settings: Settings) -> StorageRegistry:
    """A fresh data dir has one local bucket, ``media``."""
    root = settings.data_dir / "buckets" / DEFAULT_BUCKET
    root.mkdir(parents=True, exist_ok=True)
    return StorageRegistry([LocalStorage(DEFAULT_BUCKET, root)])


def _backend(storage: Storage) -> tuple[str, str | None]:
    """How the buckets table describes a configured bucket: backend name and local path."""
    if isinstance(storage, LocalStorage):
        return "local", str(storage.root)
    return type(storage).__name__.removesuffix("Storage").lower()[:16], None


class Runtime:
    """Every long-lived part of a reelflow process."""

    def __init__(self, settings: Settings, *, storages: StorageRegistry | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = create_db_engine(settings.resolved_database_url())
        migrate(self.db)
        self.sessions = session_factory(self.db)
        self.storages = storages if storages is not None else default_storages(settings)
        self.accounts = Accounts(self.sessions)
        self.admin_key: NewKey | None = self.accounts.ensure_admin()
        admin = self.accounts.admin()
        if admin is None:  # ensure_admin just made sure there is one
            raise RuntimeError("no admin account after ensure_admin")
        self.admin_account: Account = admin
        self.buckets = Buckets(self.sessions)
        for name in self.storages.names():
            backend, path = _backend(self.storages.get(name))
            self.buckets.ensure(name, admin.id, backend=backend, path=path)
        self.templates_service = Templates(self.sessions)
        self.workflows = Workflows(self.sessions, self.templates_service, self.buckets)
        self.planner = DefaultPlanner(fuse=settings.executor == "local")
        self.engine = Engine(
            self.sessions,
            self.planner,
            settings,
            templates=self.templates_service,
            buckets=self.buckets,
        )
        self.ffmpeg: Path = find_ffmpeg(settings.ffmpeg)
        self.jobs = JobRuntime(self.ffmpeg, self.storages, settings.data_dir / "scratch")
        self.executor = build_executor(settings, self.jobs)
        self.scheduler = Scheduler(self.engine, self.executor, settings)
        self.engine.on_jobs_added = self.scheduler.wake
        self._closed = False

    def close(self) -> None:
        """Stop running jobs (requeued for the next start) and release the database.

        Idempotent: the server calls it from its shutdown path and again on exit."""
        if self._closed:
            return
        self._closed = True
        self.scheduler.stop()
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
