"""``build_process(settings, storages)``: one task in this process (``reelflow process``,
``reelflow demo``), on a throwaway database: the catalog the engine checks a request
against, the engine, and the local executor's scheduler. No notifications, no triggers,
no front door: a one-file job does not pay for the server. The command may hand over its
own probe of the source file (``KnownProbe``), which the task's probe job then reuses.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import ExitStack
from dataclasses import dataclass

from reelflow.catalog.accounts import Account
from reelflow.catalog.templates import Templates
from reelflow.config import Settings
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.executors.base import JobContext, JobRunner
from reelflow.net.egress import EgressPolicy
from reelflow.specs.jobs import JobKind, JobPayload, JobResult
from reelflow.specs.media import MediaInfo
from reelflow.storage.registry import StorageRegistry, bucket_configs
from reelflow.wiring.catalog import build_catalog, own_buckets
from reelflow.wiring.database import open_database
from reelflow.wiring.jobs import build_job_runtime, build_planner, build_scheduler
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
    job_ended: threading.Event  # set each time one of the scheduler's jobs has ended


FileStamp = tuple[int, int, int, int, int]


def file_stamp(path: str) -> FileStamp | None:
    """What changes when the file at ``path`` is replaced or written to (device, inode,
    size, modification and change times); None when it cannot be read."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


@dataclass(frozen=True)
class KnownProbe:
    """The probe of the local file ``path`` made by the command itself, and the file's
    stamp taken before it: the task's probe job of the same, unchanged file answers it
    instead of reading the file again."""

    path: str
    stamp: FileStamp
    info: MediaInfo

    def answers(self, job: JobPayload) -> bool:
        source = job.source
        return (
            job.kind is JobKind.PROBE
            and source.type == "file"
            and source.path == self.path
            and file_stamp(self.path) == self.stamp
        )


class ProbedOnce:
    """``runner``, except for the probe job ``known`` answers (implements ``JobRunner``)."""

    def __init__(self, runner: JobRunner, known: KnownProbe) -> None:
        self._runner = runner
        self._known = known

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if self._known.answers(job):
            return JobResult(job_id=job.job_id, ok=True, media_info=self._known.info)
        return self._runner(job, ctx)


def build_process(
    settings: Settings, storages: StorageRegistry, *, known: KnownProbe | None = None
) -> ProcessServices:
    """The services over ``settings`` (its data dir and database are the task's own) with
    the buckets ``storages``, owned by the admin; ``known``: the source's probe, if made."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return build_owned(lambda stack: _build(settings, storages, known, stack))


def _build(
    settings: Settings, storages: StorageRegistry, known: KnownProbe | None, stack: ExitStack
) -> ProcessServices:
    database = open_database(settings, stack, log, "start-up")
    egress = EgressPolicy.from_settings(settings)
    catalog = build_catalog(database.sessions, egress)
    own_buckets(catalog, storages, bucket_configs(settings))
    engine = Engine(
        database.sessions,
        build_planner(settings),
        settings,
        templates=catalog.templates,
        buckets=catalog.buckets,
        egress=egress,
    )
    jobs = build_job_runtime(settings, storages, egress)
    runner: JobRunner = jobs if known is None else ProbedOnce(jobs, known)
    _, scheduler = build_scheduler(settings, engine, runner, stack, runtime=jobs)
    job_ended = threading.Event()
    scheduler.on_job_finished = lambda *_: job_ended.set()
    return ProcessServices(
        closer=stack,
        settings=settings,
        admin_account=catalog.admin_account,
        templates=catalog.templates,
        engine=engine,
        scheduler=scheduler,
        job_ended=job_ended,
    )
