"""``build_process(settings, storages)``: one task in this process (``reelflow process``,
``reelflow demo``), on a throwaway database: the catalog the engine checks a request
against, the engine, and the local executor's scheduler. No notifications, no triggers,
no front door: a one-file job does not pay for the server.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from reelflow.catalog.accounts import Account
from reelflow.catalog.templates import Templates
from reelflow.config import Settings
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.net.egress import EgressPolicy
from reelflow.planner.plan import DefaultPlanner
from reelflow.storage.registry import StorageRegistry, bucket_configs
from reelflow.wiring.catalog import build_catalog, own_buckets
from reelflow.wiring.database import open_database
from reelflow.wiring.jobs import build_job_runtime, build_scheduler
from reelflow.wiring.lifecycle import Owned, build_owned

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ProcessServices(Owned):
    """The engine and its scheduler (started by the command); closing stops the jobs."""

    settings: Settings
    admin_account: Account
    templates: Templates
    engine: Engine
    scheduler: Scheduler


def build_process(settings: Settings, storages: StorageRegistry) -> ProcessServices:
    """The services over ``settings`` (its data dir and database are the task's own) with
    the buckets ``storages``, owned by the admin."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return build_owned(lambda stack: _build(settings, storages, stack))


def _build(settings: Settings, storages: StorageRegistry, stack: ExitStack) -> ProcessServices:
    database = open_database(settings, stack, log, "start-up")
    egress = EgressPolicy.from_settings(settings)
    catalog = build_catalog(database.sessions, egress)
    own_buckets(catalog, storages, bucket_configs(settings))
    engine = Engine(
        database.sessions,
        DefaultPlanner(fuse=settings.executor == "local"),
        settings,
        templates=catalog.templates,
        buckets=catalog.buckets,
        egress=egress,
    )
    jobs = build_job_runtime(settings, storages, egress)
    _, scheduler = build_scheduler(settings, engine, jobs, stack)
    return ProcessServices(
        closer=stack,
        settings=settings,
        admin_account=catalog.admin_account,
        templates=catalog.templates,
        engine=engine,
        scheduler=scheduler,
    )
