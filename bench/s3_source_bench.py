"""What fetching an S3 source to scratch costs, next to streaming it to FFmpeg.

Two ways for a job to read a source in an S3 bucket (moto's S3 server on loopback):

* ``fetch`` (reelflow now): the object is copied to the job's scratch with boto3 (ranged
  reads that resume after a cut, once per machine and version), then PyAV and FFmpeg read
  a local file;
* ``presigned`` (reelflow before): FFmpeg reads a presigned URL over HTTP.

The probe reads only local files since c9afa78 (PyAV's network branch is gone), so in the
``presigned`` mode the probe job still fetches the source; only the media job streams it.
The fetch alone (``Storage.fetch_to``, what streaming would save) is timed on its own:
streaming costs less than fetching only if ``presigned`` exceeds ``fetch`` by less than it.

For each source size, one task of the default workflow (probe job, then the fused media
job; outputs to a local bucket, so only the source's reading differs) runs in a fresh
runtime, both ways interleaved ``--runs`` times; the wall time from submit to the task's
end is reported (median, min, max) with the ratio of medians. Sources: ``small`` (2 s,
640x360, about 0.3 MB) and ``large`` (10 s of noisy 720p at a high bitrate, about 200 MB).
Reported, never asserted.

    .venv/bin/python bench/s3_source_bench.py             # small and large, 3 runs each
    .venv/bin/python bench/s3_source_bench.py --runs 1 --sizes small
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # moto's server is started the way the tests start it

from tests.s3server import moto_server  # noqa: E402

from reelflow.config import Settings  # noqa: E402
from reelflow.executors.jobs import JobRuntime  # noqa: E402
from reelflow.media.ffmpeg import find_ffmpeg  # noqa: E402
from reelflow.media.probe import probe  # noqa: E402
from reelflow.presets.default_workflow import default_media_process_task  # noqa: E402
from reelflow.specs.jobs import JobKind, JobPayload  # noqa: E402
from reelflow.specs.requests import TaskRequest, TaskSource  # noqa: E402
from reelflow.storage.local.backend import LocalStorage  # noqa: E402
from reelflow.storage.registry import StorageRegistry  # noqa: E402
from reelflow.storage.s3.backend import S3Options, S3Storage, make_client  # noqa: E402
from reelflow.wiring.server import build_server  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
REGION = "us-east-1"
# size -> (lavfi video source, x264 options, seconds)
SOURCES = {
    "small": ("testsrc2=s=640x360:r=25", ["-preset", "veryfast"], "2"),
    "large": ("testsrc2=s=1280x720:r=25,noise=alls=12:allf=t", ["-preset", "ultrafast",
              "-qp", "10"], "10"),
}  # fmt: skip


def make_source(ffmpeg: Path, size: str) -> Path:
    path = OUT_DIR / f"s3src-{size}.mp4"
    if not path.exists():
        video, x264, seconds = SOURCES[size]
        command = [
            str(ffmpeg), "-v", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i",
            "sine=f=440", "-t", seconds, "-c:v", "libx264", *x264, "-c:a", "aac", str(path),
        ]  # fmt: skip
        subprocess.run(command, check=True)
    return path


def options(endpoint: str, bucket: str) -> S3Options:
    return S3Options(
        endpoint=endpoint, region=REGION, bucket=bucket, access_key="bench", secret_key="bench"
    )


@contextmanager
def presigned_sources() -> Iterator[None]:
    """Make media jobs read bucket sources through presigned URLs, as before the fetch
    (probe jobs keep the fetched copy: the probe refuses URLs)."""
    original = JobRuntime._source

    @contextmanager
    def source(self: JobRuntime, job: JobPayload, work_dir: Path) -> Iterator[str]:
        src = job.source
        storage = self.storages.get(src.bucket) if src.type == "bucket" else None
        media = job.kind is JobKind.MEDIA
        url = storage.presigned_url(src.key, int(job.timeout) + 600) if storage and media else None
        if url is None:
            with original(self, job, work_dir) as path:
                yield path
            return
        yield url

    with mock.patch.object(JobRuntime, "_source", source):
        yield


def run_task(endpoint: str, bucket: str, info_source: Path, mode: str) -> float:
    """One default-workflow task on ``s3://bucket/src.mp4``; returns its wall seconds."""
    with tempfile.TemporaryDirectory(dir=OUT_DIR) as tmp:
        data = Path(tmp)
        storages = StorageRegistry(
            [S3Storage("fin", options(endpoint, bucket)), LocalStorage("out", data / "out")]
        )
        settings = Settings(data_dir=data / "data", video_preset="ultrafast", workers=1)
        request = TaskRequest(
            source=TaskSource(type="bucket", bucket="fin", key="src.mp4"),
            media_process_task=default_media_process_task(probe(info_source)),
            output_bucket="out",
        )
        patch = presigned_sources() if mode == "presigned" else nullcontext()
        with patch, build_server(settings, storages=storages) as runtime:
            start = time.perf_counter()
            task_id = runtime.engine.submit(request, account_id=runtime.admin_account.id)
            done = runtime.scheduler.run_until(
                lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=900
            )
            elapsed = time.perf_counter() - start
            view = runtime.engine.task_view(task_id)
        if not done or view.state.value != "succeeded":
            errors = [(s.err_code, s.message) for s in view.subtasks if s.err_code]
            raise SystemExit(f"{mode}: the task did not succeed: {view.state} {errors}")
        return elapsed


def fetch_alone(endpoint: str, bucket: str) -> float:
    """Wall seconds of copying ``s3://bucket/src.mp4`` to a local file, as a job does."""
    with tempfile.TemporaryDirectory(dir=OUT_DIR) as tmp:
        storage = S3Storage("fin", options(endpoint, bucket))
        start = time.perf_counter()
        storage.fetch_to("src.mp4", Path(tmp) / "src.mp4")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", choices=sorted(SOURCES), default=["small", "large"])
    args = parser.parse_args()
    OUT_DIR.mkdir(exist_ok=True)
    ffmpeg = find_ffmpeg("")
    load_before = os.getloadavg()
    rows = []
    with moto_server() as moto:
        endpoint = moto.endpoint
        client = make_client(options(endpoint, ""))
        for size in args.sizes:
            source = make_source(ffmpeg, size)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            client.create_bucket(Bucket=bucket)
            client.upload_file(str(source), bucket, "src.mp4")
            times: dict[str, list[float]] = {"fetch": [], "presigned": [], "fetch alone": []}
            for _ in range(args.runs):
                for mode in ("fetch", "presigned"):
                    times[mode].append(run_task(endpoint, bucket, source, mode))
                times["fetch alone"].append(fetch_alone(endpoint, bucket))
            rows.append((size, source.stat().st_size, times))
    print(f"{'source':<8} {'MB':>7} {'mode':<10} {'median s':>9} {'min':>7} {'max':>7}")
    for size, nbytes, times in rows:
        for mode, values in times.items():
            print(
                f"{size:<8} {nbytes / 1e6:>7.1f} {mode:<10} {statistics.median(values):>9.2f} "
                f"{min(values):>7.2f} {max(values):>7.2f}"
            )
        ratio = statistics.median(times["fetch"]) / statistics.median(times["presigned"])
        print(f"{size:<8} fetch / presigned (medians): {ratio:.2f}")
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")


if __name__ == "__main__":
    main()
