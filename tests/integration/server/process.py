"""A real ``reelflow serve`` child process on loopback, and what tests read around it.

:class:`ServerProcess` starts the server with ``sys.executable -m reelflow.cli.main serve``,
waits for ``/healthz`` and reads the admin key the server wrote. It is stopped by its own
pid only (SIGTERM, then SIGKILL after a grace period); nothing is ever killed by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.servers import free_port

T = TypeVar("T")

START_TIMEOUT = 30.0
STOP_GRACE = 10.0


class ServerProcess:
    """One ``reelflow serve`` run on ``data_dir``; ``env`` adds REELFLOW_* settings (the
    first-start workflow ``default`` is off unless ``env`` turns it on)."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "REELFLOW_VIDEO_PRESET": "ultrafast",
            "REELFLOW_WORKERS": "1",
            # Tests upload to media/in/ and count the tasks they start themselves; the
            # first-start workflow is tested where asked for (REELFLOW_DEFAULT_WORKFLOW=true).
            "REELFLOW_DEFAULT_WORKFLOW": "false",
            **(env or {}),
        }
        self.log_path = data_dir.parent / f"{data_dir.name}-server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin_key = ""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "reelflow.cli.main", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--data-dir", str(self.data_dir)]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        key = json.loads((self.data_dir / "admin-key.json").read_text())
        self.admin_key = key["secret_key"]
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            code = self.poll()
            if code is not None:
                raise RuntimeError(f"reelflow serve exited with {code}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.05)
        raise RuntimeError(f"reelflow serve not healthy in {START_TIMEOUT} s:\n{self.log_tail()}")

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def terminate(self, timeout: float = STOP_GRACE) -> int:
        """SIGTERM and wait; returns the exit status (``-15`` when the signal ended it)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> int:
        """SIGKILL, as a crash would; returns the exit status."""
        assert self.proc is not None
        self.proc.kill()
        return self.proc.wait(timeout=STOP_GRACE)

    def stop(self) -> None:
        """Make sure the process is gone: SIGTERM, then SIGKILL after ``STOP_GRACE``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.terminate()
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- talking to it --------------------------------------------------------------------

    def client(self, key: str | None = None, timeout: float = 30.0) -> httpx.Client:
        """An httpx client for the API with ``key`` (default: the admin's)."""
        secret = self.admin_key if key is None else key
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


class Servers:
    """Starts servers for one test and leaves none behind (nor any FFmpeg they started)."""

    def __init__(self) -> None:
        self.started: list[ServerProcess] = []

    def start(self, data_dir: Path, **env: str) -> ServerProcess:
        server = ServerProcess(data_dir, {f"REELFLOW_{k.upper()}": v for k, v in env.items()})
        self.started.append(server)
        return server.start()

    def close(self) -> None:
        for server in self.started:
            server.stop()
        for data_dir in {server.data_dir for server in self.started}:
            # An FFmpeg orphaned by a SIGKILLed server: ours (we started its parent), ended
            # by its pid.
            for pid in ffmpeg_processes(str(data_dir.resolve())):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def wait_finished(client: httpx.Client, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``GET /v1/tasks/{id}`` until its state is FINISH; returns the document."""

    def finished() -> dict[str, Any] | None:
        response = client.get(f"/v1/tasks/{task_id}")
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc if doc["state"] == "FINISH" else None

    return wait_for(finished, timeout, f"task {task_id} to finish")


def wait_running(client: httpx.Client, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll until the task's first sub-task is PROCESSING with some progress: FFmpeg runs."""

    def running() -> dict[str, Any] | None:
        doc: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
        sub = doc["subtasks"][0]
        return doc if sub["status"] == "PROCESSING" and sub["progress"] > 0 else None

    return wait_for(running, timeout, f"task {task_id} to run FFmpeg")


def query(data_dir: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    """Rows from the server's SQLite database, opened read-only (the server may be live)."""
    uri = f"file:{(data_dir / 'reelflow.db').resolve()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=10.0)
    try:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def ffmpeg_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions ``marker`` (a data dir path).

    Read from ``/proc`` so no ``ps``/``pgrep`` is needed; zombies (already exited, only
    waiting to be reaped) are not counted.
    """
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if state == "Z" or "ffmpeg" not in Path(os.fsdecode(argv[0])).name:
            continue
        if any(marker.encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


def create_key(data_dir: Path, account: str) -> str:
    """``reelflow keys create ACCOUNT --data-dir D`` (as an admin runs it, next to a live
    server); returns the new key's secret."""
    argv = [sys.executable, "-m", "reelflow.cli.main", "keys", "create", account,
            "--data-dir", str(data_dir)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["account"] == account
    secret: str = created["secret_key"]
    return secret
