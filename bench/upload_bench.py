"""Upload a large object through the object API of a real ``reelflow serve``.

Reports (issue 14 targets, reported, never asserted):

* the server's memory growth: peak RSS (``VmHWM`` of /proc/<pid>/status) after the upload
  minus peak RSS before it, target < 64 MiB;
* throughput against ``cp`` followed by ``sync`` of the copy (reelflow fsyncs every object
  it stores) of the same file on the same disk, target within 1.5x; ``cp`` alone is shown
  too.

The object is random bytes generated in chunks into a temporary file next to the server's
data dir (same disk), streamed from that file by ``curl -T`` (a C client, so the figure is
the server's; it declares the length, so the server reads the body straight from the
socket, see ``reelflow.web.socket_body``; ``--client httpx`` uses Python's httpx instead,
which sends the body chunked, the ASGI way); after each run the stored object's MD5 must
equal the file's. The source stays in the page cache for
every method (it is read once first), so all of them read it the same way.

Also measured, as the floor any HTTP server meets here: the same ``curl -T`` into a
*sink*, a process that receives the request on loopback and discards the body
(``recv_into`` one reused 4 MiB buffer, then answers 200) - the cost of the client and of
TCP alone. ``cp``, ``cp`` + ``sync``, the sink and the upload run interleaved ``--runs``
times; medians are reported. The server runs with its default settings (folder watcher and
upload hook included) in its own process.

``--baseline-src DIR`` also starts a second server from another source tree (``DIR`` is put
first on its ``PYTHONPATH``, e.g. ``git archive``'d ``src`` of an older commit) and uploads
to it in the same runs: a before/after in one sitting, under the same load.

    .venv/bin/python bench/upload_bench.py               # 1 GiB, 3 runs
    .venv/bin/python bench/upload_bench.py --size-mib 256 --runs 1
    .venv/bin/python bench/upload_bench.py --runs 7 --baseline-src /tmp/base/src
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
MIB = 1024 * 1024
CHUNK = 8 * MIB
TARGET_GROWTH_MIB = 64
TARGET_RATIO = 1.5  # of cp + sync


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def vm_hwm(pid: int) -> int:
    """Peak resident memory of ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_source(path: Path, size: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(CHUNK, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def warm(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(CHUNK):
            pass


def timed_cp(source: Path, dest: Path, *, sync: bool) -> float:
    subprocess.run(["sync"], check=True)  # start from clean dirty-page state every time
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(dest)], check=True)
    if sync:
        subprocess.run(["sync", str(dest)], check=True)
    elapsed = time.perf_counter() - start
    dest.unlink()
    return elapsed


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            yield chunk


class Server:
    """``reelflow serve`` in a subprocess on a free loopback port."""

    def __init__(self, data_dir: Path, src: Path | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        reelflow = Path(sys.executable).with_name("reelflow")
        env = {**os.environ, "REELFLOW_DATA_DIR": str(data_dir)}
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
        self.log = (data_dir.parent / f"{data_dir.name}-server.log").open("wb")
        self.process = subprocess.Popen(
            [str(reelflow), "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {self.log.name}")
            time.sleep(0.1)
        key = json.loads((data_dir / "admin-key.json").read_text())
        self.headers = {"Authorization": f"Bearer {key['secret_key']}"}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def sink(port: int) -> None:
    """Answer HTTP requests on loopback ``port``, discarding their bodies (the floor)."""
    listener = socket.create_server(("127.0.0.1", port))
    buffer = memoryview(bytearray(4 * MIB))
    while True:
        conn, _ = listener.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head and (got := conn.recv(65536)):
                head += got
            if b"\r\n\r\n" not in head:
                continue  # the start-up probe: connected and closed
            header, _, body = head.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            left = length - len(body)
            while left > 0:
                got = conn.recv_into(buffer[: min(left, len(buffer))])
                if not got:
                    break
                left -= got
            answer = b'{"size": %d}' % length
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
            )


class Sink:
    """:func:`sink` in its own process, as the server is."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port)], stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sink did not start") from None
                time.sleep(0.05)

    def send(self, source: Path) -> float:
        subprocess.run(["sync"], check=True)
        command = ["curl", "-sS", "--fail-with-body", "-T", str(source), "-H", "Expect:"]
        command.append(f"http://127.0.0.1:{self.port}/sink")
        start = time.perf_counter()
        answer = subprocess.run(command, check=True, capture_output=True)
        elapsed = time.perf_counter() - start
        if json.loads(answer.stdout)["size"] != source.stat().st_size:
            raise RuntimeError(f"the sink did not receive the whole file: {answer.stdout!r}")
        return elapsed

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def upload(
    server: Server, key: str, source: Path, client: str = "httpx"
) -> tuple[float, dict[str, Any]]:
    subprocess.run(["sync"], check=True)
    if client == "curl":
        return _curl(server, key, source)
    size = source.stat().st_size
    headers = {**server.headers, "Content-Length": str(size), "Content-Type": "video/mp4"}
    start = time.perf_counter()
    answer = httpx.put(
        f"{server.url}/v1/buckets/media/objects/{key}",
        content=file_chunks(source),
        headers=headers,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return elapsed, body


def _curl(server: Server, key: str, source: Path) -> tuple[float, dict[str, Any]]:
    auth = server.headers["Authorization"]
    command = ["curl", "-sS", "--fail-with-body", "-T", str(source), "-H", "Expect:"]
    command += ["-H", f"Authorization: {auth}", "-H", "Content-Type: video/mp4"]
    command.append(f"{server.url}/v1/buckets/media/objects/{key}")
    start = time.perf_counter()
    answer = subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    body: dict[str, Any] = json.loads(answer.stdout)
    return elapsed, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--client", choices=["curl", "httpx"], default="curl" if shutil.which("curl") else "httpx"
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        metavar="DIR",
        help="also upload, in the same runs, to a server run from this source tree",
    )
    parser.add_argument("--sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        sink(args.sink)
        return 0
    size = args.size_mib * MIB
    OUT_DIR.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="upload-", dir=OUT_DIR))
    try:
        source = work / "source.bin"
        print(f"generating {args.size_mib} MiB of random bytes in {work} ...", flush=True)
        md5 = make_source(source, size)
        warm(source)
        load_before = os.getloadavg()[0]
        runs = measure(work, source, md5, args.runs, args.client, args.baseline_src)
    except StoredWrong as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = report(runs, size, args.runs, args.client)
    result["load_average_before"] = load_before
    (OUT_DIR / "upload_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


class StoredWrong(Exception):
    """The object the server stored is not the file that was sent."""


def measure(
    work: Path, source: Path, md5: str, count: int, client: str, baseline_src: Path | None
) -> dict[str, Any]:
    """Run every method ``count`` times, interleaved; return their timings and the servers'
    peak RSS before and after the uploads."""
    runs: dict[str, Any] = {"cp": [], "cp_sync": [], "sink": []}
    receiver = Sink() if shutil.which("curl") else None
    servers = {"upload": Server(work / "data")}
    try:
        if baseline_src is not None:
            servers["baseline"] = Server(work / "baseline", baseline_src)
        for name, server in servers.items():
            upload(server, "warmup/small.bin", _small(work))  # imports and first-use buffers
            runs[f"{name}_rss_before"] = vm_hwm(server.process.pid)
            runs[name], runs[f"{name}_cpu"] = [], []
        for run in range(count):
            runs["cp"].append(timed_cp(source, work / "copy.bin", sync=False))
            runs["cp_sync"].append(timed_cp(source, work / "copy.bin", sync=True))
            if receiver is not None:
                runs["sink"].append(receiver.send(source))
            # Alternated, so that neither server always follows the same step.
            order = list(servers.items())[:: -1 if run % 2 else 1]
            for name, server in order:
                key = f"bench/large-{run}.bin"
                seconds, cpu = _upload_checked(server, key, source, md5, client)
                runs[name].append(seconds)
                runs[f"{name}_cpu"].append(cpu)
        for name, server in servers.items():
            runs[f"{name}_rss_after"] = vm_hwm(server.process.pid)
    finally:
        for server in servers.values():
            server.stop()
        if receiver is not None:
            receiver.stop()
    return runs


def _upload_checked(
    server: Server, key: str, source: Path, md5: str, client: str
) -> tuple[float, float]:
    """Upload ``source`` as ``key``, check what was stored and delete it; return the
    upload's seconds and the server's CPU seconds during it."""
    cpu_before = cpu_seconds(server.process.pid)
    seconds, body = upload(server, key, source, client)
    cpu = cpu_seconds(server.process.pid) - cpu_before
    # Checked on disk, not by downloading: a download would raise the peak RSS.
    stored = server.data_dir / "buckets" / "media" / key
    if body["size"] != source.stat().st_size or file_md5(stored) != md5:
        raise StoredWrong(f"the stored object differs from the file sent: {body}")
    httpx.delete(f"{server.url}/v1/buckets/media/objects/{key}", headers=server.headers)
    return seconds, cpu


def report(runs: dict[str, Any], size: int, count: int, client: str) -> dict[str, Any]:
    cp_seconds = statistics.median(runs["cp"])
    cp_sync_seconds = statistics.median(runs["cp_sync"])
    sink_seconds = statistics.median(runs["sink"]) if runs["sink"] else None
    result: dict[str, Any] = {
        "size_bytes": size,
        "runs": count,
        "client": client,
        "cp_runs_seconds": [round(x, 3) for x in runs["cp"]],
        "cp_sync_runs_seconds": [round(x, 3) for x in runs["cp_sync"]],
        "sink_runs_seconds": [round(x, 3) for x in runs["sink"]],
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "cp_seconds": round(cp_seconds, 3),
        "cp_sync_seconds": round(cp_sync_seconds, 3),
        "sink_seconds": None if sink_seconds is None else round(sink_seconds, 3),
        "sink_vs_cp_sync": (
            None if sink_seconds is None else round(sink_seconds / cp_sync_seconds, 2)
        ),
    }
    for name in ("upload", "baseline"):
        if name not in runs:
            continue
        seconds = statistics.median(runs[name])
        growth = runs[f"{name}_rss_after"] - runs[f"{name}_rss_before"]
        result |= {
            f"{name}_runs_seconds": [round(x, 3) for x in runs[name]],
            f"{name}_server_cpu_runs_seconds": [round(x, 2) for x in runs[f"{name}_cpu"]],
            f"{name}_seconds": round(seconds, 3),
            f"{name}_mib_per_s": round(size / MIB / seconds, 1),
            f"{name}_vs_cp": round(seconds / cp_seconds, 2),
            f"{name}_vs_cp_sync": round(seconds / cp_sync_seconds, 2),
            f"{name}_vs_sink": None if sink_seconds is None else round(seconds / sink_seconds, 2),
            f"{name}_server_peak_rss_before_mib": round(runs[f"{name}_rss_before"] / MIB, 1),
            f"{name}_server_peak_rss_growth_mib": round(growth / MIB, 1),
        }
    upload_seconds = statistics.median(runs["upload"])
    growth = runs["upload_rss_after"] - runs["upload_rss_before"]
    result["targets"] = {
        "growth_under_64_mib": growth < TARGET_GROWTH_MIB * MIB,
        "within_1_5x_of_cp_sync": upload_seconds <= TARGET_RATIO * cp_sync_seconds,
    }
    return result


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _small(work: Path) -> Path:
    path = work / "small.bin"
    path.write_bytes(os.urandom(4 * MIB))
    return path


if __name__ == "__main__":
    sys.exit(main())
