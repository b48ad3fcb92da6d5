"""Peak RSS of a real ``reelflow serve`` while it probes oversized images (issue 13).

Uploads, through the REST API, a 16000x16000 PNG (FFmpeg lavfi ``color``), an 8192x8192
PNG (the largest accepted by default) and a 70-byte PNG declaring 30000x30000, submits a
transcode of each, waits for each task to finish and prints its error code, the seconds it
took and the server's peak RSS (``VmHWM`` of ``/proc/<pid>/status``) after each. The target
is a peak under 300 MiB whatever the input; missed targets are reported, never asserted.

    .venv/bin/python bench/input_bounds_bench.py
"""

from __future__ import annotations

import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the harness lives with the tests

from tests.clips import run_ffmpeg  # noqa: E402
from tests.integration.server.process import ServerProcess, wait_finished  # noqa: E402

OUT = ROOT / "bench" / "out"
TARGET_MIB = 300


def png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def solid_png(side: int) -> bytes:
    path = OUT / f"color-{side}.png"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        run_ffmpeg(["-f", "lavfi", "-i", f"color=s={side}x{side}", "-frames:v", "1", str(path)])
    return path.read_bytes()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def main() -> int:
    sources = {
        "declared-30000.png": png_declaring(30000, 30000),
        "color-8192.png": solid_png(8192),
        "color-16000.png": solid_png(16000),
    }
    with tempfile.TemporaryDirectory(dir=OUT.parent if OUT.exists() else None) as tmp:
        server = ServerProcess(Path(tmp) / "data").start()
        try:
            assert server.proc is not None
            pid = server.proc.pid
            print(f"server pid {pid}: peak RSS at start {peak_rss_mib(pid):.0f} MiB")
            with server.client(timeout=120) as client:
                for key, data in sources.items():
                    put = client.put(f"/v1/buckets/media/objects/in/{key}", content=data)
                    put.raise_for_status()
                    started = time.monotonic()
                    body = {
                        "input": {"bucket": "media", "key": f"in/{key}"},
                        "media_process_task": {"transcode_task_set": [{"definition": 100010}]},
                    }
                    created = client.post("/v1/tasks", json=body)
                    created.raise_for_status()
                    doc = wait_finished(client, created.json()["task_id"], timeout=600)
                    seconds = time.monotonic() - started
                    code = doc["err_code"] or doc["subtasks"][0]["err_code"] or "ok"
                    print(
                        f"{key:20} {len(data):>9} bytes  {code:26} {seconds:6.1f} s  "
                        f"server peak RSS {peak_rss_mib(pid):.0f} MiB"
                    )
            peak = peak_rss_mib(pid)
        finally:
            server.stop()
    verdict = "met" if peak < TARGET_MIB else "MISSED"
    print(f"target: server peak RSS < {TARGET_MIB} MiB: {verdict} ({peak:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
