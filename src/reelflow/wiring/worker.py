"""``build_worker(settings)``: what a Celery worker (``reelflow worker``) runs jobs with.

A worker shares the servers' database and buckets and keeps nothing of its own but scratch
space under its data dir. Its engine plans as the servers' do (a worker finishing a probe
plans the media jobs): fused, one job per input, unless ``cluster_fanout`` fans the
sub-tasks out; tasks finished here write their event in the same transaction; the servers'
dispatchers deliver it.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from reelflow.config import Settings
from reelflow.engine.scheduler import default_owner
from reelflow.engine.service import Engine
from reelflow.executors.celery.worker import JobWorker
from reelflow.net.egress import EgressPolicy
from reelflow.notify.outbox import OutboxWriter
from reelflow.storage.registry import StorageRegistry, build_storages
from reelflow.wiring.database import open_database
from reelflow.wiring.jobs import build_job_runtime, build_planner
from reelflow.wiring.lifecycle import Owned, build_owned

log = logging.getLogger("reelflow.worker")


@dataclass(frozen=True, kw_only=True)
class WorkerServices(Owned):
    """The job worker (started by ``reelflow worker``) over the engine and the buckets;
    closing stops its running jobs and hands them back to the queue."""

    settings: Settings
    engine: Engine
    storages: StorageRegistry
    worker: JobWorker


def build_worker(settings: Settings) -> WorkerServices:
    return build_owned(lambda stack: _build(settings, stack))


def _build(settings: Settings, stack: ExitStack) -> WorkerServices:
    database = open_database(settings, stack, log, "worker start-up")
    engine = Engine(database.sessions, build_planner(settings, cluster=True), settings)
    engine.observer = OutboxWriter(database.sessions, settings.notify_max_retry_seconds)
    storages = build_storages(settings)
    _warn_local_folders(storages)
    jobs = build_job_runtime(settings, storages, EgressPolicy.from_settings(settings))
    owner = f"worker:{default_owner()}"
    worker = JobWorker(engine, jobs, owner=owner, lease_seconds=settings.lease_seconds)
    stack.callback(_stop, worker)
    return WorkerServices(
        closer=stack, settings=settings, engine=engine, storages=storages, worker=worker
    )


def _warn_local_folders(storages: StorageRegistry) -> None:
    for name in storages.names():
        if storages.get(name).capabilities.folder is not None:
            log.warning(
                "bucket %s is a local folder on this machine: in a cluster, jobs of "
                "other machines cannot read it (configure it as an S3 bucket)",
                name,
            )


def _stop(worker: JobWorker) -> None:
    handed_back = worker.stop()
    if handed_back:
        log.info("handed %d running job(s) back to the queue", handed_back)
