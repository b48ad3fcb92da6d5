"""The cluster benchmark: short tasks through Celery workers, and what the Celery path costs.

Everything runs on this machine against the real services: PostgreSQL (a fresh schema of
the database ``test`` per run, dropped afterwards), Redis as the broker (a queue of the
bench's own), and ``reelflow worker`` subprocesses with concurrency 1. The scheduler runs
in this process (``Scheduler`` + ``CeleryExecutor``, as in ``reelflow serve``); tasks are
submitted straight to the engine. Each task is one time-offset screenshot of a 2 s 320x180
clip, so it is two short jobs: the probe, then one FFmpeg run. The source sits in a local
bucket folder that every process is configured with: this measures the executor path, not
S3.

1. **Throughput**: ``--tasks`` tasks submitted at once, run by 1 worker, then by 2 workers;
   tasks per minute from the first submission to the last task finished, and the ratio of
   the medians of ``--runs`` interleaved runs (after a discarded warm-up run). The CPU used
   by the workers (with their FFmpeg children) and this process is printed too: on a
   2-core machine that also runs PostgreSQL and Redis, two workers share the same cores.
2. **Per-job overhead of the Celery path**: the same tasks run once by the local executor
   (one slot, in this process) and once by one Celery worker with one job in flight
   (``cluster_slots`` 1, so no job waits in the broker). For every job: claimed -> result
   applied, from the job row (``finished_at - started_at``, the engine's clock on one host);
   jobs are paired by task and kind within a run, and the overhead is the p50 of the paired
   differences over all runs.
   Target (issue 8): under 30 ms.

Missed targets are reported, not asserted; a task that does not succeed stops the bench with
exit code 1.

    .venv/bin/python bench/cluster_bench.py
    .venv/bin/python bench/cluster_bench.py --tasks 20
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import create_engine, select, text

from reelflow.config import Settings
from reelflow.db.models import Job
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.ports import Executor
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.executors.celery.app import make_app
from reelflow.executors.celery.executor import CeleryExecutor
from reelflow.executors.jobs import JobRuntime
from reelflow.executors.local import LocalExecutor
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.planner.plan import DefaultPlanner
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import TaskState
from reelflow.specs.tasks import MediaProcessTask, SnapshotByTimeOffsetTaskInput
from reelflow.storage.registry import build_storages

POSTGRES_URL = os.environ.get(
    "REELFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("REELFLOW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TARGET_OVERHEAD_MS = 30.0
WORKER_START_TIMEOUT = 60.0
RUN_TIMEOUT = 600.0
POLL = 0.5  # as `reelflow serve` asks (the scheduler polls faster when workers report)


@dataclass
class Run:
    label: str
    seconds: float
    jobs: dict[tuple[int, str], float]  # (task number, job kind) -> claimed..applied, s
    cpu: float = 0.0  # CPU seconds of this process and the workers (with their FFmpegs)

    def per_minute(self, tasks: int) -> float:
        return tasks / self.seconds * 60


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def make_clip(ffmpeg: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path)]  # fmt: skip
    subprocess.run(args, check=True)


@contextmanager
def fresh_schema() -> Iterator[str]:
    admin = create_engine(POSTGRES_URL, pool_size=1)
    schema = f"rf_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def drop_queue(queue: str) -> None:
    """Remove the run's queue (and kombu's binding keys for it) from Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
    finally:
        client.close()


def request() -> TaskRequest:
    return TaskRequest(
        source=TaskSource(type="bucket", bucket="media", key="in/clip.mp4"),
        media_process_task=MediaProcessTask(
            snapshot_by_time_offset_task_set=[
                SnapshotByTimeOffsetTaskInput(definition=10, ext_time_offset_set=["1s"])
            ]
        ),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process and its reaped children (FFmpeg), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU of this process and its reaped children (the local executor's FFmpegs)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def bound(argv: list[str], cpu: int | None) -> list[str]:
    """``argv`` run bound to ``cpu`` (``taskset`` execs it: same pid); the CPU affinity is
    inherited by every process and thread it starts (its FFmpegs). ``None``: unbound."""
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


@contextmanager
def workers(
    count: int, env: dict[str, str], root: Path, *, cpus: Sequence[int] = ()
) -> Iterator[list[int]]:
    """``count`` ``reelflow worker`` subprocesses (concurrency 1), ready; yields their pids;
    stopped after. ``cpus``: worker ``i`` (and every process it starts) is bound to CPU
    ``cpus[i % len(cpus)]``, a machine of one core."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for number in range(count):
            data_dir = root / f"worker-{uuid.uuid4().hex[:6]}-{number}"
            data_dir.mkdir(parents=True)
            log = data_dir / "worker.log"
            argv = [sys.executable, "-m", "reelflow.cli.main", "worker", "--concurrency", "1",
                    "--data-dir", str(data_dir)]  # fmt: skip
            with log.open("wb") as out:
                cpu = cpus[number % len(cpus)] if cpus else None
                proc = subprocess.Popen(
                    bound(argv, cpu), stdout=out, stderr=subprocess.STDOUT, env=env
                )
            procs.append((proc, log))
        for proc, log in procs:
            deadline = time.monotonic() + WORKER_START_TIMEOUT
            while " ready." not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"a worker did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.05)
        yield [proc.pid for proc, _ in procs]
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_tasks(settings: Settings, executor: Executor | None, tasks: int, label: str) -> Run:
    """Submit ``tasks`` tasks at once and drive them to the end with a scheduler here."""
    db = create_db_engine(settings.resolved_database_url())
    migrate(db)
    sessions = session_factory(db)
    engine = Engine(sessions, DefaultPlanner(fuse=False), settings)
    if executor is None:
        executor = CeleryExecutor(
            make_app(settings), queue=settings.celery_queue, slots=settings.cluster_slots
        )
    scheduler = Scheduler(engine, executor, settings)
    engine.on_jobs_added = scheduler.wake
    try:
        started = time.monotonic()
        ids = [engine.submit(request()) for _ in range(tasks)]
        scheduler.start(poll=POLL)
        deadline = started + RUN_TIMEOUT
        live = [TaskState.QUEUED, TaskState.RUNNING]
        # One cheap count per poll: this process shares the CPU with the workers.
        while engine.count_tasks(state=live) > 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: tasks still running after {RUN_TIMEOUT} s")
            time.sleep(0.02)
        seconds = time.monotonic() - started
        failed = [i for i in ids if engine.task_view(i).state is not TaskState.SUCCEEDED]
        if failed:
            view = engine.task_view(failed[0])
            raise SystemExit(f"{label}: {len(failed)} task(s) failed, e.g. {view.subtasks}")
        number = {task_id: n for n, task_id in enumerate(ids)}
        with sessions() as session:
            rows = session.scalars(select(Job)).all()
            jobs = {
                (number[row.task_id], row.kind.value): (
                    row.finished_at - row.started_at  # type: ignore[operator]
                ).total_seconds()
                for row in rows
            }
        return Run(label, seconds, jobs)
    finally:
        scheduler.stop()
        db.dispose()


def celery_run(base: Settings, env: dict[str, str], root: Path, count: int, tasks: int,
               slots: int, label: str) -> Run:  # fmt: skip
    with fresh_schema() as url:
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        settings = base.model_copy(
            update={"database_url": url, "celery_queue": queue, "cluster_slots": slots}
        )
        run_env = {**env, "REELFLOW_DATABASE_URL": url, "REELFLOW_CELERY_QUEUE": queue}
        migrate(url)  # before the workers start, so that they do not race the bench for it
        try:
            with workers(count, run_env, root) as pids:
                before = own_cpu() + sum(cpu_seconds(pid) for pid in pids)
                run = run_tasks(settings, None, tasks, label)
                run.cpu = own_cpu() + sum(cpu_seconds(pid) for pid in pids) - before
                return run
        finally:
            drop_queue(queue)


def local_run(base: Settings, tasks: int) -> Run:
    with fresh_schema() as url:
        settings = base.model_copy(update={"database_url": url, "executor": "local"})
        runtime = JobRuntime(
            find_ffmpeg(settings.ffmpeg), build_storages(settings), settings.data_dir / "scratch"
        )
        before = own_cpu()
        run = run_tasks(settings, LocalExecutor(runtime, slots=1), tasks, "local, 1 slot")
        run.cpu = own_cpu() - before
        return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs (medians)")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="reelflow-cluster-bench-"))
    try:
        return bench(root, args.tasks, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench(root: Path, tasks: int, runs: int) -> int:
    bucket = root / "bucket"
    make_clip(find_ffmpeg(os.environ.get("REELFLOW_FFMPEG", "")), bucket / "in" / "clip.mp4")
    config = root / "reelflow.toml"
    config.write_text(f'[buckets.media]\nbackend = "local"\npath = "{bucket}"\n')
    env = {
        **os.environ,
        "REELFLOW_EXECUTOR": "celery",
        "REELFLOW_BROKER_URL": REDIS_URL,
        "REELFLOW_CONFIG": str(config),
        "REELFLOW_VIDEO_PRESET": "ultrafast",
    }
    base = Settings(
        data_dir=root / "bench",
        config=config,
        executor="celery",
        broker_url=REDIS_URL,
        video_preset="ultrafast",
    )
    load_before = os.getloadavg()[0]

    celery_run(base, env, root, 1, 10, 16, "warm-up")  # page cache, first FFmpeg runs
    one: list[Run] = []
    two: list[Run] = []
    local: list[Run] = []
    single: list[Run] = []
    for _ in range(runs):  # interleaved: a slow moment of the machine hits both sides
        one.append(celery_run(base, env, root, 1, tasks, 16, "celery, 1 worker"))
        two.append(celery_run(base, env, root, 2, tasks, 16, "celery, 2 workers"))
        local.append(local_run(base, tasks))
        single.append(celery_run(base, env, root, 1, tasks, 1, "celery, 1 worker, 1 in flight"))

    cores = os.cpu_count() or 1
    print(f"{tasks} tasks (probe + one screenshot each), workers with concurrency 1, {runs} runs")
    for label, measured in (("1 worker", one), ("2 workers", two)):
        rates = [run.per_minute(tasks) for run in measured]
        busy = statistics.median(run.cpu / run.seconds / cores for run in measured)
        print(
            f"  {label:<10} median {statistics.median(rates):6.1f} tasks/min  (runs: "
            f"{', '.join(f'{rate:.0f}' for rate in rates)})   CPU of workers + scheduler "
            f"{busy:4.0%} of {cores} cores (PostgreSQL, Redis not counted)"
        )
    ratio = statistics.median(r.per_minute(tasks) for r in two) / statistics.median(
        r.per_minute(tasks) for r in one
    )
    print(f"  ratio 2 workers / 1 worker: {ratio:.2f}")
    diffs: list[float] = []
    for local_run_, single_run in zip(local, single, strict=True):
        pairs = set(local_run_.jobs) & set(single_run.jobs)
        diffs += [1000 * (single_run.jobs[k] - local_run_.jobs[k]) for k in pairs]
    print(f"per job, claimed -> result applied ({len(diffs)} pairs of jobs, ms):")
    for label, measured in (("local, 1 slot", local), ("celery, 1 worker, 1 in flight", single)):
        values = [1000 * v for run in measured for v in run.jobs.values()]
        cpu = 1000 * sum(run.cpu for run in measured) / sum(len(run.jobs) for run in measured)
        print(
            f"  {label:<30} p50 {percentile(values, 50):6.1f}   p90 "
            f"{percentile(values, 90):6.1f}   mean {statistics.fmean(values):6.1f}"
            f"   CPU {cpu:5.1f} ms a job"
        )
    p50 = percentile(diffs, 50)
    verdict = "met" if p50 < TARGET_OVERHEAD_MS else "MISSED"
    print(
        f"  celery - local, paired:        p50 {p50:6.1f}   p90 {percentile(diffs, 90):6.1f}"
        f"   (target p50 < {TARGET_OVERHEAD_MS:.0f} ms: {verdict})"
    )
    print(f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
