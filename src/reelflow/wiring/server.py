"""``build_server(settings)``: every service of ``reelflow serve``, chosen once from the
settings, in a ``ServerServices`` that closes them in reverse order.

On the first start it creates the admin account and its key (``admin_key``, set only on
that start). Triggers are built here and started by the server (``triggers.start()``), as
are the scheduler and the dispatcher; the server also calls :func:`create_default_workflow`
on that first start.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.accounts import Account, Accounts, NewKey
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.deferred import DeferredTriggers
from reelflow.catalog.folders import BucketFolders
from reelflow.catalog.schedules import Schedules
from reelflow.catalog.templates import Templates
from reelflow.catalog.triggered import TriggerLedger
from reelflow.catalog.workflows import WorkflowRecord, Workflows
from reelflow.config import Settings
from reelflow.engine.ports import Executor
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.errors import ReelflowError
from reelflow.executors.jobs import JobRuntime
from reelflow.net.egress import EgressPolicy
from reelflow.notify.deliveries import DeliveryStore
from reelflow.notify.delivery_loop import DeliveryLoop
from reelflow.notify.queues import MessageQueues
from reelflow.notify.records import OutboxRecords
from reelflow.presets.default_workflow import default_workflow_spec
from reelflow.storage.registry import StorageRegistry, bucket_configs, build_storages
from reelflow.triggers.service import TriggerService
from reelflow.wiring.catalog import build_catalog, own_buckets
from reelflow.wiring.database import open_database
from reelflow.wiring.jobs import build_job_runtime, build_planner, build_scheduler
from reelflow.wiring.lifecycle import Owned, build_owned
from reelflow.wiring.notifications import build_notifications

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ServerServices(Owned):
    """What the server's front doors, scheduler, dispatcher and triggers run on."""

    settings: Settings
    db: DbEngine
    sessions: sessionmaker[Session]
    storages: StorageRegistry
    accounts: Accounts
    #: The admin's new key, on the start that created the admin account (else ``None``).
    admin_key: NewKey | None
    admin_account: Account
    buckets: Buckets
    bucket_folders: BucketFolders
    templates: Templates
    workflows: Workflows
    schedules: Schedules
    egress: EgressPolicy
    engine: Engine
    #: How a job's FFmpeg runs here (the local executor's runner).
    jobs: JobRuntime
    executor: Executor
    scheduler: Scheduler
    queues: MessageQueues
    outbox_records: OutboxRecords
    deliveries: DeliveryStore
    dispatcher: DeliveryLoop
    triggers: TriggerService


def build_server(settings: Settings, *, storages: StorageRegistry | None = None) -> ServerServices:
    """The services over ``settings``; ``storages`` replaces the configured buckets (then
    the buckets made through the API are not loaded)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return build_owned(lambda stack: _build(settings, storages, stack))


def _build(
    settings: Settings, storages: StorageRegistry | None, stack: ExitStack
) -> ServerServices:
    database = open_database(settings, stack, log, "start-up")
    configs = bucket_configs(settings)
    registry = storages if storages is not None else build_storages(settings)
    # Where accounts' URL inputs and notification targets may connect (one policy).
    egress = EgressPolicy.from_settings(settings)
    catalog = build_catalog(database.sessions, egress)
    folders = BucketFolders(catalog.buckets, registry, settings.data_dir / "buckets")
    if storages is None:
        folders.load()
    own_buckets(catalog, registry, configs)
    engine = Engine(
        database.sessions,
        build_planner(settings),
        settings,
        templates=catalog.templates,
        buckets=catalog.buckets,
        egress=egress,
    )
    jobs = build_job_runtime(settings, registry, egress)
    notifications = build_notifications(settings, database.sessions, engine, egress, stack)
    executor, scheduler = build_scheduler(settings, engine, jobs, stack)
    triggers = TriggerService(
        registry,
        configs,
        TriggerLedger(database.sessions),
        catalog.workflows,
        engine,
        settle_seconds=settings.watch_settle_ms / 1000,
        schedules=catalog.schedules,
        deferred=DeferredTriggers(database.sessions),
    )
    stack.callback(triggers.close)  # closed first: no new tasks from there on
    return ServerServices(
        closer=stack,
        settings=settings,
        db=database.db,
        sessions=database.sessions,
        storages=registry,
        accounts=catalog.accounts,
        admin_key=catalog.admin_key,
        admin_account=catalog.admin_account,
        buckets=catalog.buckets,
        bucket_folders=folders,
        templates=catalog.templates,
        workflows=catalog.workflows,
        schedules=catalog.schedules,
        egress=egress,
        engine=engine,
        jobs=jobs,
        executor=executor,
        scheduler=scheduler,
        queues=notifications.queues,
        outbox_records=notifications.outbox_records,
        deliveries=notifications.deliveries,
        dispatcher=notifications.dispatcher,
        triggers=triggers,
    )


def create_default_workflow(workflows: Workflows, admin: Account) -> WorkflowRecord | None:
    """The admin's enabled workflow ``default`` (``media/in/`` -> ``media/out/``), so that
    a new server works on the first upload. An ordinary workflow: it can be edited,
    disabled or deleted. The server calls this only on the start that created the admin
    account (a new database), which is the record that it was made once: a deleted
    ``default`` is never made again. ``None`` (and a warning) if it cannot be made, e.g.
    when ``reelflow.toml`` gives ``media`` to another account.
    """
    spec = default_workflow_spec()
    try:
        record = workflows.create(admin.id, spec, enabled=True)
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
