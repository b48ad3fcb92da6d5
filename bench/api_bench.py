"""The API benchmark: task submissions per second and idle submit-to-start latency.

Each measurement runs against a real ``reelflow serve`` subprocess (embedded defaults: a
fresh temporary data dir, SQLite, the local executor) on a free loopback port, driven by
``httpx`` keep-alive clients from this process. A fresh server per measurement, so no run
inherits another's backlog.

1. **Submissions per second**: ``--requests`` ``POST /v1/tasks`` (one MP4 transcode of a URL
   input, so no upload) from C concurrent clients, for each C of ``--clients``, after a
   short warm-up. The scheduler runs in both ``--modes``; they differ in what its jobs do:

   - ``live``: the URL is ``http://127.0.0.1:9/none.mp4`` (connection refused), so every
     probe job fails within milliseconds and is retried with backoff: the executor and the
     scheduler churn flat out (claim, probe, record the result, claim the next) beside the
     submissions, on the same GIL and the same SQLite write lock. The worst case.
   - ``held``: the URL points at a stub that accepts connections and never answers, so the
     executor's slots stay busy with probes that do not finish during the run, as they
     would with real FFmpeg jobs of seconds or minutes: the scheduler wakes on every
     submission and finds no free slot. What a burst of submissions meets in practice.

   Columns: requests per second; median and p95 latency per request; the server's CPU per
   request (user + system, from ``/proc``, so it includes what the scheduler and executor
   did meanwhile) and this client's. On 2 cores the client's CPU is taken from the server.

2. **Idle latency from submit to the first job starting**: ``--samples`` tasks submitted
   one at a time with ``--pause`` seconds between them, on an idle server. The URL is a stub
   answering 404, so each probe fails at once and for good (no retry wakes up later to
   disturb the next sample). Read afterwards from the database: the task's ``started_at``
   (set once, when its first job is claimed RUNNING; a job's own ``started_at`` moves on
   each retry) minus its ``created_at`` (both the server's clock), and, end to end, minus
   the client's wall clock just before sending (same host, same clock).

Targets (issue 3): >= 200 submissions/s and p50 submit-to-start <= 50 ms. Missed targets
are reported, not asserted; any non-2xx answer stops the bench with exit code 1.

    .venv/bin/python bench/api_bench.py
    .venv/bin/python bench/api_bench.py --requests 500 --clients 4 --modes live --samples 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

TARGET_RATE = 200.0  # submissions per second
TARGET_START_MS = 50.0  # p50 submit -> first job RUNNING
REFUSED_URL = "http://127.0.0.1:9/none.mp4"  # discard port: nothing listens, refused at once
STARTUP_TIMEOUT = 60.0
WARMUP = 50


def task_body(url: str) -> dict[str, Any]:
    return {
        "input": {"url": url},
        "output": {"bucket": "media"},
        "media_process_task": {"TranscodeTaskSet": [{"Definition": 100010}]},
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# -- the source stub ---------------------------------------------------------------------


class _StubHandler(BaseHTTPRequestHandler):
    """``/stall*``: never answers (until the stub closes); anything else: 404 at once."""

    stop: threading.Event

    def do_GET(self) -> None:
        if self.path.startswith("/stall"):
            self.stop.wait()
            return
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the probe's requests are expected


@contextmanager
def source_stub() -> Iterator[str]:
    """A loopback HTTP server for the probes; yields its base URL."""
    stop = threading.Event()
    handler = type("Handler", (_StubHandler,), {"stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="source-stub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


# -- the server --------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "reelflow.db"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@contextmanager
def running_server(root: Path, name: str) -> Iterator[Server]:
    """``reelflow serve`` on a fresh data dir under ``root``; SIGTERM and wait on exit."""
    data_dir = root / name
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
    # URL inputs point at 127.0.0.1 (a refused port, the stub server): opened for it alone.
    env["REELFLOW_EGRESS_ALLOW"] = "127.0.0.1/32"
    log_path = root / f"{name}.log"
    command = [sys.executable, "-m", "reelflow.cli.main", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", "", data_dir, process, log_path)
    try:
        _wait_ready(server)
        key_file = json.loads((data_dir / "admin-key.json").read_text())
        server.key = key_file["secret_key"]
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"reelflow serve exited early:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"reelflow serve did not answer in {STARTUP_TIMEOUT:.0f} s")


# -- 1. submissions per second -----------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; else ``None``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RateResult:
    mode: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float]  # seconds per request
    server_cpu: float | None  # server CPU seconds over the timed requests
    client_cpu: float  # this process's CPU seconds over the timed requests

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def _submit_many(server: Server, url: str, total: int, clients: int) -> list[float]:
    body = json.dumps(task_body(url)).encode()
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    remaining = total
    failures: list[str] = []

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and not failures:
            remaining -= 1
            start = time.perf_counter()
            response = await http.post("/v1/tasks", content=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 201:
                failures.append(f"{response.status_code} {response.text[:300]}")

    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60.0) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    if failures:
        raise SystemExit(f"POST /v1/tasks failed: {failures[0]}\n{server.log_tail()}")
    return latencies


def measure_rate(root: Path, mode: str, url: str, clients: int, requests: int) -> RateResult:
    with running_server(root, f"rate-{mode}-c{clients}") as server:
        asyncio.run(_submit_many(server, url, WARMUP, clients))
        cpu_before = cpu_seconds(server.process.pid)
        client_before = time.process_time()
        start = time.perf_counter()
        latencies = asyncio.run(_submit_many(server, url, requests, clients))
        seconds = time.perf_counter() - start
        client_cpu = time.process_time() - client_before
        cpu_after = cpu_seconds(server.process.pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return RateResult(mode, clients, requests, seconds, latencies, cpu, client_cpu)


# -- 2. idle submit -> first job RUNNING -------------------------------------------------


@dataclass(frozen=True)
class StartResult:
    server_side: list[float]  # task started_at - created_at, seconds
    end_to_end: list[float]  # task started_at - client send time, seconds
    round_trip: list[float]  # the POST itself, seconds


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def measure_start(root: Path, url: str, samples: int, pause: float) -> StartResult:
    sent: dict[str, float] = {}
    round_trip: list[float] = []
    with running_server(root, "start") as server:
        headers = {"Authorization": f"Bearer {server.key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30.0) as http:
            for _ in range(3):  # warm the connection and the server's code paths
                http.post("/v1/tasks", json=task_body(url)).raise_for_status()
                time.sleep(pause)
            for _ in range(samples):
                wall = time.time()
                start = time.perf_counter()
                response = http.post("/v1/tasks", json=task_body(url))
                round_trip.append(time.perf_counter() - start)
                if response.status_code != 201:
                    raise SystemExit(f"POST /v1/tasks failed: {response.status_code}")
                sent[response.json()["task_id"]] = wall
                time.sleep(pause)
        database = server.database
        # Read after the server stopped: nothing is written any more.
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT id, created_at, started_at FROM tasks").fetchall()
    server_side: list[float] = []
    end_to_end: list[float] = []
    for task_id, created, started in rows:
        if task_id not in sent:
            continue
        if started is None:
            raise SystemExit(f"task {task_id} never started within the run")
        started_at = _parse_time(started)
        server_side.append((started_at - _parse_time(created)).total_seconds())
        end_to_end.append(started_at.timestamp() - sent[task_id])
    return StartResult(server_side, end_to_end, round_trip)


# -- report ------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def print_rates(results: list[RateResult]) -> None:
    print()
    print("POST /v1/tasks throughput (ms: latency per request; CPU per request)")
    print(
        f"{'mode':<6} {'clients':>7} {'requests':>8} {'req/s':>8} {'p50':>7} {'p95':>7} "
        f"{'server cpu':>10} {'client cpu':>10}"
    )
    for r in results:
        cpu = "-" if r.server_cpu is None else _ms(r.server_cpu / r.requests)
        print(
            f"{r.mode:<6} {r.clients:>7} {r.requests:>8} {r.rate:>8.1f} "
            f"{_ms(statistics.median(r.latencies)):>7} {_ms(percentile(r.latencies, 95)):>7} "
            f"{cpu:>10} {_ms(r.client_cpu / r.requests):>10}"
        )


def print_start(result: StartResult) -> None:
    print()
    print(f"idle submit -> first job RUNNING ({len(result.server_side)} tasks, ms)")
    print(f"{'measure':<42} {'p50':>7} {'p95':>7} {'max':>7}")
    rows = (
        ("server: task started_at - created_at", result.server_side),
        ("end to end: started_at - client send", result.end_to_end),
        ("POST /v1/tasks round trip", result.round_trip),
    )
    for label, values in rows:
        print(
            f"{label:<42} {_ms(statistics.median(values)):>7} "
            f"{_ms(percentile(values, 95)):>7} {_ms(max(values)):>7}"
        )


def print_verdict(rates: list[RateResult], start: StartResult | None) -> None:
    print()
    for mode in ("live", "held"):
        runs = [r for r in rates if r.mode == mode]
        if not runs:
            continue
        worst = min(runs, key=lambda r: r.rate)
        verdict = "met" if worst.rate >= TARGET_RATE else "MISSED"
        print(
            f"target >= {TARGET_RATE:.0f} submissions/s, {mode}, every C: {verdict} "
            f"(lowest {worst.rate:.1f}/s at C={worst.clients})"
        )
    if start is not None:
        p50 = statistics.median(start.end_to_end) * 1000
        verdict = "met" if p50 <= TARGET_START_MS else "MISSED"
        print(
            f"target p50 submit -> first job RUNNING <= {TARGET_START_MS:.0f} ms "
            f"(end to end): {verdict} ({p50:.1f} ms)"
        )


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="submissions per run")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients, comma list")
    parser.add_argument("--modes", default="live,held", help="live, held or both")
    parser.add_argument("--samples", type=int, default=50, help="latency samples (0: skip)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between samples")
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - {"live", "held"})
    if unknown:
        parser.error(f"unknown mode(s) {unknown}: use live and/or held")

    print(
        f"reelflow API bench: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, "
        f"load average {_load()}"
    )
    rates: list[RateResult] = []
    start: StartResult | None = None
    with tempfile.TemporaryDirectory(prefix="reelflow-api-bench-") as tmp, source_stub() as stub:
        root = Path(tmp)
        urls = {"live": REFUSED_URL, "held": f"{stub}/stall.mp4"}
        for mode in modes:
            for c in clients:
                result = measure_rate(root, mode, urls[mode], c, args.requests)
                print(f"  {mode} C={c}: {result.rate:.1f} req/s", flush=True)
                rates.append(result)
        if args.samples > 0:
            start = measure_start(root, f"{stub}/missing.mp4", args.samples, args.pause)
    if rates:
        print_rates(rates)
    if start is not None:
        print_start(start)
    print_verdict(rates, start)
    print(f"load average at the end: {_load()} (other work on the machine skews every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
