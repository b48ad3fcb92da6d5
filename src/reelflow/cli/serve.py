"""``reelflow serve``: the API, the scheduler and the local executor in one process."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import anyio
import typer
import uvicorn

from reelflow.cli.logs import configure_logging
from reelflow.cli.settings import settings_or_exit
from reelflow.config import Settings
from reelflow.errors import StorageError
from reelflow.storage.registry import StorageRegistry
from reelflow.wiring.server import build_server, create_default_workflow

log = logging.getLogger("reelflow.serve")

ADMIN_KEY_FILE = "admin-key.json"
SERVER_FILE = "server.json"


def write_private_json(path: Path, data: dict[str, str]) -> None:
    """Write ``data`` to a file only its owner can read (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT once its own shutdown is done, so the process dies
    by the signal and no ``finally`` runs; reelflow's jobs must be handed back first, so the
    services are closed at the end of the server's shutdown, before that happens."""

    def __init__(self, config: uvicorn.Config, on_stopped: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_stopped = on_stopped

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        await anyio.to_thread.run_sync(self.on_stopped)


def check_remote_buckets(storages: StorageRegistry) -> None:
    """Reach every S3 bucket once and compare its region with the configured one. Problems
    are logged, not fatal: the store may come back, and jobs retry storage errors."""
    for name in storages.names():
        storage = storages.get(name)
        check = getattr(storage, "check", None)
        if check is None:
            continue
        try:
            region = check()
        except StorageError as exc:
            log.warning("bucket %s: %s", name, exc.message)
            continue
        if region and storage.region and region != storage.region:
            log.warning(
                "bucket %s: configured region %r, but the store reports %r",
                name,
                storage.region,
                region,
            )


def serve(settings: Settings, host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT; then stop FFmpeg children and requeue their jobs."""
    from reelflow.web.limits import BodyLimits
    from reelflow.web.socket_body import UploadHttpProtocol
    from reelflow.wiring.http import create_app  # FastAPI only for the server

    services = build_server(settings)
    try:
        new_key = services.admin_key
        if new_key is not None:
            path = settings.data_dir / ADMIN_KEY_FILE
            write_private_json(
                path, {"secret_id": new_key.secret_id, "secret_key": new_key.secret_key}
            )
            typer.echo(f"created the admin API key: {path.resolve()} (mode 0600)")
            if settings.default_workflow:
                create_default_workflow(
                    services.workflows, services.admin_account
                )  # logs what it made (or why not)
        url = f"http://{host}:{port}"
        write_private_json(settings.data_dir / SERVER_FILE, {"url": url})
        limits = BodyLimits(json_body=settings.max_json_bytes, upload=settings.max_upload_bytes)
        app = create_app(services, limits=limits)
        app.state.on_upload = services.triggers.upload  # object API uploads fire workflows
        check_remote_buckets(services.storages)
        services.scheduler.on_job_finished = app.state.metrics.observe_job
        config = uvicorn.Config(
            app, host=host, port=port, log_level="info", access_log=False, http=UploadHttpProtocol
        )
        server = _Server(config, on_stopped=services.close)
        services.scheduler.start()
        services.triggers.start()  # folder watchers and S3 pollers; stopped by services.close
        services.dispatcher.start()  # delivers event notifications; stopped by services.close
        typer.echo(f"reelflow serving on {url} (data dir {settings.data_dir.resolve()})")
        server.run()  # returns after a graceful shutdown on SIGTERM or SIGINT
    finally:
        services.close()  # stops running FFmpeg processes and requeues their jobs
        log.info("stopped")


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Database, buckets and keys (REELFLOW_DATA_DIR)."),
    ] = None,
) -> None:
    """Run the service: REST API, scheduler, local executor and notification dispatcher."""
    configure_logging()
    serve(settings_or_exit(data_dir), host, port)
