"""Upload a large object through the object API of a real ``reelflow serve``.

Reports (issue 4 targets, reported, never asserted):

* the server's memory growth: peak RSS (``VmHWM`` of /proc/<pid>/status) after the upload
  minus peak RSS before it, target < 64 MiB;
* throughput against ``cp`` of the same file on the same disk, target within 2x (also shown:
  ``cp`` followed by ``sync`` of the copy, since reelflow fsyncs every object it stores).

The object is random bytes generated in chunks into a temporary file next to the server's
data dir (same disk), streamed from that file by ``curl -T`` (a C client, so the figure is
the server's; ``--client httpx`` uses Python's httpx instead); the ETag the server
returns must equal the file's MD5. The source stays in the page cache for every method (it
is read once first), so all of them read it the same way. ``cp``, ``cp`` + ``sync`` and the
upload run interleaved ``--runs`` times; medians are reported. The server runs with its
default settings (folder watcher and upload hook included) in its own process.

    .venv/bin/python bench/upload_bench.py               # 1 GiB, 3 runs
    .venv/bin/python bench/upload_bench.py --size-mib 256 --runs 1
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
TARGET_RATIO = 2.0


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

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        reelflow = Path(sys.executable).with_name("reelflow")
        env = {**os.environ, "REELFLOW_DATA_DIR": str(data_dir)}
        self.log = (data_dir.parent / "server.log").open("wb")
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
    args = parser.parse_args()
    size = args.size_mib * MIB
    OUT_DIR.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="upload-", dir=OUT_DIR))
    try:
        source = work / "source.bin"
        print(f"generating {args.size_mib} MiB of random bytes in {work} ...", flush=True)
        md5 = make_source(source, size)
        warm(source)
        cps: list[float] = []
        cp_syncs: list[float] = []
        uploads: list[float] = []
        server_cpu: list[float] = []
        server = Server(work / "data")
        try:
            upload(server, "warmup/small.bin", _small(work))  # imports and first-use buffers
            before = vm_hwm(server.process.pid)
            for run in range(args.runs):
                cps.append(timed_cp(source, work / "copy.bin", sync=False))
                cp_syncs.append(timed_cp(source, work / "copy.bin", sync=True))
                cpu_before = cpu_seconds(server.process.pid)
                seconds, body = upload(server, f"bench/large-{run}.bin", source, args.client)
                uploads.append(seconds)
                server_cpu.append(cpu_seconds(server.process.pid) - cpu_before)
                if body["etag"] != md5 or body["size"] != size:
                    print(f"FAILED: the stored object differs: {body}", file=sys.stderr)
                    return 1
                url = f"{server.url}/v1/buckets/media/objects/bench/large-{run}.bin"
                httpx.delete(url, headers=server.headers).raise_for_status()
            after = vm_hwm(server.process.pid)
        finally:
            server.stop()
        growth = after - before
        seconds = statistics.median(uploads)
        cp_seconds = statistics.median(cps)
        cp_sync_seconds = statistics.median(cp_syncs)
        result = {
            "size_bytes": size,
            "runs": args.runs,
            "client": args.client,
            "upload_runs_seconds": [round(x, 3) for x in uploads],
            "cp_runs_seconds": [round(x, 3) for x in cps],
            "cp_sync_runs_seconds": [round(x, 3) for x in cp_syncs],
            "server_cpu_runs_seconds": [round(x, 2) for x in server_cpu],
            "load_average": os.getloadavg()[0],
            "cpus": os.cpu_count(),
            "upload_seconds": round(seconds, 3),
            "upload_mib_per_s": round(size / MIB / seconds, 1),
            "cp_seconds": round(cp_seconds, 3),
            "cp_sync_seconds": round(cp_sync_seconds, 3),
            "upload_vs_cp": round(seconds / cp_seconds, 2),
            "upload_vs_cp_sync": round(seconds / cp_sync_seconds, 2),
            "server_peak_rss_before_mib": round(before / MIB, 1),
            "server_peak_rss_after_mib": round(after / MIB, 1),
            "server_peak_rss_growth_mib": round(growth / MIB, 1),
            "targets": {
                "growth_under_64_mib": growth < TARGET_GROWTH_MIB * MIB,
                "within_2x_of_cp": seconds <= TARGET_RATIO * cp_seconds,
            },
        }
        (OUT_DIR / "upload_bench.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _small(work: Path) -> Path:
    path = work / "small.bin"
    path.write_bytes(os.urandom(4 * MIB))
    return path


if __name__ == "__main__":
    sys.exit(main())
