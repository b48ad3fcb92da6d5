"""``reelflow worker``: a Celery worker that runs reelflow jobs (cluster mode).

A worker needs the same settings as the servers it works for: the database
(``REELFLOW_DATABASE_URL``, PostgreSQL), the broker (``REELFLOW_BROKER_URL``), the buckets
(``reelflow.toml``: S3-compatible in a cluster) and the queue. It keeps nothing of its own
but scratch space under its data dir. Each job runs in a thread supervising its FFmpeg
process, as in ``reelflow serve``'s local pool; ``--concurrency`` is how many at once.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from reelflow.cli.logs import configure_logging
from reelflow.cli.settings import settings_or_exit
from reelflow.config import Settings
from reelflow.errors import ConfigError
from reelflow.executors.celery.app import make_app, register_worker
from reelflow.executors.celery.consumer import consumer_class
from reelflow.executors.celery.health import health_file, watch_consumer
from reelflow.executors.celery.watchdog import liveness
from reelflow.wiring.worker import build_worker

log = logging.getLogger("reelflow.worker")


def run_worker(
    settings: Settings, concurrency: int, queues: list[str], loglevel: str = "INFO"
) -> int:
    """Consume ``queues`` until SIGTERM/SIGINT; returns the exit code."""
    from celery import signals

    app = make_app(settings)
    with build_worker(settings) as services:
        worker = services.worker
        worker.start()
        register_worker(app, worker.run)

        def on_shutdown(**_: Any) -> None:
            # Celery's warm shutdown would wait for every running job to finish; like
            # `reelflow serve`, stop them now and hand them back without using an attempt.
            count = worker.stop()
            log.info("stopping: handed %d running job(s) back to the queue", count)

        signals.worker_shutting_down.connect(on_shutdown, weak=False)
        consumer = app.Worker(
            hostname=f"reelflow@{socket.gethostname()}:{os.getpid()}",
            pool_cls="threads",
            concurrency=concurrency,
            queues=queues,
            loglevel=loglevel,
            # No worker-to-worker chatter: reelflow's state is in the database.
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            optimization="fair",
            consumer_cls=consumer_class(),
        )
        log.info(
            "worker %s: %d job(s) at once from queue(s) %s",
            worker.owner,
            concurrency,
            ", ".join(queues),
        )
        watchdog = watch_consumer(settings, app, consumer, worker, queues)
        try:
            consumer.start()
        finally:
            watchdog.stop()
        return int(consumer.exitcode or 0)


def check_worker(settings: Settings) -> int:
    """``reelflow worker --check``: 0 if the worker on ``settings.data_dir`` is alive and
    consuming (or riding out a broker outage), else 1; says why on stdout."""
    alive, why = liveness(health_file(settings).read())
    typer.echo(f"worker {'alive' if alive else 'NOT alive'}: {why}")
    return 0 if alive else 1


def worker_command(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Jobs run at once (REELFLOW_WORKERS)."),
    ] = None,
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues", "-Q", help="Comma-separated queues to consume (REELFLOW_CELERY_QUEUE)."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Scratch space and reelflow.toml (REELFLOW_DATA_DIR)."),
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="Log level.")] = "INFO",
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Liveness probe: exit 0 if the worker on --data-dir is alive and consuming.",
        ),
    ] = False,
) -> None:
    """Run jobs from the cluster's broker (REELFLOW_BROKER_URL) against its database."""
    configure_logging(loglevel.upper())
    settings = settings_or_exit(data_dir)
    if check:
        raise typer.Exit(check_worker(settings))
    try:
        names = [q.strip() for q in (queues or settings.celery_queue).split(",") if q.strip()]
        if not names:
            raise ConfigError("--queues names no queue")
        code = run_worker(settings, concurrency or settings.workers, names, loglevel.upper())
    except ConfigError as exc:
        typer.echo(f"reelflow: {exc.message}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)
