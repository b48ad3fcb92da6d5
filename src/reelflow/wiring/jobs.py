"""The job steps: how a job's FFmpeg runs (``JobRuntime``), and the server's executor and
scheduler over the engine."""

from __future__ import annotations

from contextlib import ExitStack

from reelflow.config import Settings
from reelflow.engine.ports import Executor
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.executors.base import JobRunner
from reelflow.executors.chunks import remove_parts
from reelflow.executors.jobs import JobRuntime, outage_patience
from reelflow.executors.registry import build_executor
from reelflow.executors.scratch import sweep as sweep_scratch
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.net.egress import EgressPolicy
from reelflow.planner.plan import DefaultPlanner
from reelflow.storage.registry import StorageRegistry


def build_job_runtime(
    settings: Settings, storages: StorageRegistry, egress: EgressPolicy
) -> JobRuntime:
    """What runs a job here: FFmpeg, the buckets, scratch space under the data dir."""
    ffmpeg = find_ffmpeg(settings.ffmpeg)
    # Before any job runs: what processes killed earlier left behind (their attempts are
    # run again by the engine) only takes disk space and CPU.
    sweep_scratch(settings.data_dir / "scratch")
    return JobRuntime(
        ffmpeg,
        storages,
        settings.data_dir / "scratch",
        url_max_bytes=settings.url_max_bytes,
        url_timeout=settings.url_timeout,
        egress=egress,
        max_input_pixels=settings.max_input_pixels,
        outage_patience=outage_patience(settings.outage_budget_seconds),
    )


def build_planner(settings: Settings, *, cluster: bool | None = None) -> DefaultPlanner:
    """The planner of a server, a ``reelflow process`` or a worker (``cluster``: whether its
    jobs run in a cluster; by default, whether the executor is Celery). Sub-tasks reading
    the same input are fused into one job everywhere, a cluster included, unless the
    cluster fans out one job per sub-task (``cluster_fanout``)."""
    in_cluster = settings.executor != "local" if cluster is None else cluster
    return DefaultPlanner(fuse=not (in_cluster and settings.cluster_fanout))


def build_scheduler(
    settings: Settings,
    engine: Engine,
    jobs: JobRunner,
    stack: ExitStack,
    *,
    runtime: JobRuntime | None = None,
) -> tuple[Executor, Scheduler]:
    """The configured executor and the scheduler feeding it, woken by each task submitted;
    ``stack`` stops it (running jobs are requeued for the next start). The scheduler
    removes failed and cancelled chunk groups' parts through ``runtime`` (default: ``jobs``
    when it is a ``JobRuntime``; its scratch root and buckets)."""
    executor = build_executor(settings, jobs)
    scheduler = Scheduler(engine, executor, settings)
    parts = runtime if runtime is not None else jobs if isinstance(jobs, JobRuntime) else None
    if parts is not None:
        place = parts
        scheduler.remove_parts = lambda bucket, prefix: remove_parts(place, bucket, prefix)
    engine.on_jobs_added = scheduler.wake
    stack.callback(scheduler.stop)
    return executor, scheduler
