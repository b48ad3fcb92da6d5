"""A reelflow cluster of real processes on loopback: ``serve``s and ``worker``s sharing one
PostgreSQL schema, one broker queue and one ``reelflow.toml`` (S3 buckets on moto).

Every process is started here and stopped by its own pid (SIGTERM, SIGKILL after a grace
period); so is any FFmpeg a SIGKILLed worker left behind (found by the worker's data dir in
its command line). Nothing is ever killed by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import create_engine, text

from tests.integration.cluster.services import delete_queue
from tests.integration.server.process import ServerProcess, ffmpeg_processes
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

START_TIMEOUT = 30.0
STOP_GRACE = 15.0


class WorkerProcess:
    """One ``reelflow worker`` on ``data_dir`` (its scratch space)."""

    def __init__(self, data_dir: Path, env: Mapping[str, str], concurrency: int = 1) -> None:
        self.data_dir = data_dir
        self.env = dict(env)
        self.concurrency = concurrency
        self.log_path = data_dir.parent / f"{data_dir.name}-worker.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        """Launch the worker and wait until it is ready (raises if it does not start)."""
        offset = self.launch()
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while " ready." not in self.log_path.read_text(errors="replace")[offset:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"reelflow worker did not start:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def launch(self) -> int:
        """Start the process without waiting for it to be ready; returns the log's offset
        at the start."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "reelflow.cli.main", "worker", "--data-dir",
                str(self.data_dir), "--concurrency", str(self.concurrency)]  # fmt: skip
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        return offset

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> int:
        """SIGKILL, as a crash would; returns the exit status."""
        assert self.proc is not None
        self.proc.kill()
        return self.proc.wait(timeout=STOP_GRACE)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        text_ = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text_.splitlines()[-lines:])


def s3_config(moto: MotoServer, buckets: Mapping[str, str], endpoint: str = "") -> str:
    """``reelflow.toml`` text: each reelflow bucket name -> an S3 bucket on ``moto``."""
    tables = []
    for name, s3_bucket in buckets.items():
        tables.append(
            f'[buckets.{name}]\nbackend = "s3"\nendpoint = "{endpoint or moto.endpoint}"\n'
            f'region = "{REGION}"\nbucket = "{s3_bucket}"\naccess_key = "{ACCESS_KEY}"\n'
            f'secret_key = "{SECRET_KEY}"\npoll_interval = 0\nconnect_timeout = 2\n'
            f"read_timeout = 5\nmax_attempts = 2\n"
        )
    return "\n".join(tables)


class Cluster:
    """Servers and workers of one test, configured alike through ``REELFLOW_*``."""

    def __init__(
        self,
        root: Path,
        database_url: str,
        broker_url: str,
        config: str,
        s3_buckets: Mapping[str, str] | None = None,
        **settings: str,
    ) -> None:
        self.root = root
        self.s3_buckets = dict(s3_buckets or {})  # reelflow bucket -> its S3 bucket
        self.database_url = database_url
        self.broker_url = broker_url
        self.queue = f"rf-test-{uuid.uuid4().hex[:10]}"
        root.mkdir(parents=True, exist_ok=True)
        self.config_path = root / "reelflow.toml"
        self.config_path.write_text(config)
        self.env: dict[str, str] = {
            **os.environ,
            "REELFLOW_DATABASE_URL": database_url,
            "REELFLOW_EXECUTOR": "celery",
            "REELFLOW_BROKER_URL": broker_url,
            "REELFLOW_CELERY_QUEUE": self.queue,
            "REELFLOW_CONFIG": str(self.config_path),
            "REELFLOW_VIDEO_PRESET": "ultrafast",
            "REELFLOW_NOTIFY_POLL_SECONDS": "0.2",
            **{f"REELFLOW_{k.upper()}": v for k, v in settings.items()},
        }
        self.servers: list[ServerProcess] = []
        self.workers: list[WorkerProcess] = []
        self._db: DbEngine | None = None

    def serve(self, **settings: str) -> ServerProcess:
        """Start one more ``reelflow serve``; a later one gets the admin key of the first."""
        data_dir = self.root / f"serve-{len(self.servers) + 1}"
        data_dir.mkdir(parents=True)
        if self.servers:
            shutil.copy(self.servers[0].data_dir / "admin-key.json", data_dir)
        env = {**self.env, **{f"REELFLOW_{k.upper()}": v for k, v in settings.items()}}
        server = ServerProcess(data_dir, env)
        self.servers.append(server)
        return server.start()

    def worker(self, concurrency: int = 1, config: str | None = None) -> WorkerProcess:
        """Start one more ``reelflow worker`` (``config``: its own ``reelflow.toml`` text)."""
        data_dir = self.root / f"worker-{len(self.workers) + 1}"
        env = dict(self.env)
        if config is not None:
            own = self.root / f"worker-{len(self.workers) + 1}.toml"
            own.write_text(config)
            env["REELFLOW_CONFIG"] = str(own)
        worker = WorkerProcess(data_dir, env, concurrency)
        self.workers.append(worker)
        return worker.start()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the cluster's database."""
        if self._db is None:
            self._db = create_engine(self.database_url, pool_size=1)
        with self._db.connect() as connection:
            return list(connection.execute(text(sql), params))

    def logs(self) -> str:
        parts = [f"--- {w.log_path.name}\n{w.log_tail()}" for w in self.workers]
        parts += [f"--- server {s.port}\n{s.log_tail()}" for s in self.servers]
        return "\n".join(parts)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for server in self.servers:
            server.stop()
        for worker in self.workers:
            for pid in ffmpeg_processes(str(worker.data_dir.resolve())):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self._db is not None:
            self._db.dispose()
        with contextlib.suppress(Exception):  # the broker may be the thing a test stopped
            delete_queue(self.broker_url, self.queue)


class Supervisor:
    """Restarts the workers that exit, as systemd's ``Restart=always`` would (see
    docs/deploy.md); ``exits`` lists (worker index, exit status) of every exit seen.

    ``exited_at`` holds when each exit was seen (``time.monotonic``).
    ``with Supervisor(cluster.workers): ...``; nothing is restarted after the block."""

    def __init__(self, workers: list[WorkerProcess], poll: float = 0.2) -> None:
        self.workers = workers
        self.exits: list[tuple[int, int]] = []
        self.exited_at: list[float] = []
        self._poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-supervisor", daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            for number, worker in enumerate(self.workers):
                status = worker.proc.poll() if worker.proc is not None else None
                if status is not None and not self._stop.is_set():
                    self.exits.append((number, status))
                    self.exited_at.append(time.monotonic())
                    # Launched, not waited for: each worker is restarted on its own, as
                    # systemd restarts each unit (waiting for one worker to be ready
                    # delayed the restart of another that exited meanwhile). One that
                    # exits again while starting is seen by a next poll and started again.
                    worker.launch()
