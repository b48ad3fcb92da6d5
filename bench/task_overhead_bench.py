"""``make bench-overhead``: a task's own overhead in the service, apart from its FFmpeg work.

Runs ``--tasks`` small tasks (a 160x90 1 s clip: one 360p transcode and one time-point
screenshot, fused by the local executor into one FFmpeg run) one after another through the
local service in this process: the server's wiring (SQLite in a temporary data dir, local
executor, scheduler thread), each task submitted as ``POST /v1/tasks`` would through the
engine. For each task its overhead is its wall time, ``created_at`` to ``finished_at`` as
the engine recorded them, minus the wall time of the FFmpeg processes it ran (from Popen to
reaping, timed around the job runtime's ``FFmpegRunner.run``): probing the source with
PyAV, planning, claiming, the scheduler's wake-ups, committing outputs and every database
write. Prints p50 and p90 (target: p50 <= 100 ms) and the FFmpeg time beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reelflow.config import Settings
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import TaskState
from reelflow.specs.tasks import MediaProcessTask
from reelflow.wiring.server import build_server

TARGET_P50_MS = 100.0
WORKFLOW: dict[str, Any] = {
    "TranscodeTaskSet": [{"Definition": 100010}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.5s"]}],
}


class FFmpegClock:
    """Wall seconds of the FFmpeg runs made while it watches (tasks run one at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent = 0.0
        self.runs = 0

    def watch(self, runner: Any) -> None:
        run = runner.run

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return run(*args, **kwargs)
            finally:
                with self._lock:
                    self._spent += time.perf_counter() - started
                    self.runs += 1

        runner.run = timed

    def take(self) -> float:
        with self._lock:
            spent, self._spent = self._spent, 0.0
        return spent


def make_clip(ffmpeg: Path, path: Path) -> None:
    argv = [str(ffmpeg), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1"]
    argv += ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    subprocess.run([*argv, "-shortest", str(path)], check=True, capture_output=True)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=30, help="tasks to time (default 30)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed tasks first (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reelflow-overhead-") as folder:
        data = Path(folder) / "data"
        settings = Settings(data_dir=data, executor="local", video_preset="ultrafast")
        clip = data / "buckets-src" / "clip.mp4"
        clip.parent.mkdir(parents=True)
        make_clip(find_ffmpeg(settings.ffmpeg), clip)
        mpt = MediaProcessTask.model_validate(WORKFLOW)
        request = TaskRequest(
            source=TaskSource(type="file", path=str(clip)),
            media_process_task=mpt,
            output_bucket="media",
            output_dir="out/",
        )
        clock = FFmpegClock()
        overheads: list[float] = []
        ffmpeg_ms: list[float] = []
        with build_server(settings) as services:
            clock.watch(services.jobs.runner)
            # The task is looked at when one of its jobs ended, not polled: a poll every few
            # ms would take CPU from the very threads whose overhead is measured.
            job_ended = threading.Event()
            services.scheduler.on_job_finished = lambda *_: job_ended.set()
            services.scheduler.start()
            for number in range(args.warmup + args.tasks):
                clock.take()
                job_ended.clear()
                task_id = services.engine.submit(request)
                view = services.engine.task_view(task_id)
                while not view.state.is_terminal:
                    job_ended.wait(0.5)
                    job_ended.clear()
                    view = services.engine.task_view(task_id)
                if view.state is not TaskState.SUCCEEDED or view.finished_at is None:
                    sys.stderr.write(f"task {task_id} ended {view.state}: {view.message}\n")
                    return 1
                spent = clock.take()
                wall = (view.finished_at - view.created_at).total_seconds()
                if number >= args.warmup:
                    overheads.append((wall - spent) * 1000)
                    ffmpeg_ms.append(spent * 1000)
    p50, p90 = percentile(overheads, 50), percentile(overheads, 90)
    print(f"{len(overheads)} tasks one at a time, FFmpeg runs: {clock.runs}")
    print(
        f"task overhead (wall - FFmpeg wall) ms: p50 {p50:.1f}  p90 {p90:.1f}"
        f"  min {min(overheads):.1f}  max {max(overheads):.1f}"
    )
    print(f"FFmpeg wall per task ms: median {statistics.median(ffmpeg_ms):.1f}")
    print(f"target p50 <= {TARGET_P50_MS:.0f} ms: {'met' if p50 <= TARGET_P50_MS else 'MISSED'}")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
