"""The cluster's unit of work (issue 19): fused jobs, and chunks of one long source.

Everything runs on this machine against the real services, as ``bench/cluster_bench.py``
does: PostgreSQL (a fresh schema of the database ``test`` per run, dropped afterwards),
Redis as the broker (a queue of the run's own), ``reelflow worker`` subprocesses with
concurrency 1, the scheduler in this process (``Scheduler`` + ``CeleryExecutor``, as in
``reelflow serve``). Sources sit in a local bucket folder every process is configured with.

(a) **CPU per task, cluster vs embedded**, the default workflow (``presets/default_workflow``:
    every rendition, screenshots, sampled screenshots, sprite, GIF) on a generated clip
    (default 1080p 10 s): the same tasks run by the local executor in this process (one
    slot: one machine, "embedded"), by one Celery worker as a cluster plans them now (one
    fused job per input), and by one Celery worker with ``cluster_fanout`` (one job per
    sub-task, how a cluster planned before). Interleaved runs; CPU seconds per task of the
    FFmpeg processes (the reaped children of this process, or of the workers) and of
    everything (this process and the workers with their children; PostgreSQL and Redis not
    counted). Goal: cluster / embedded <= 1.05 (it was 1.33 with one job per sub-task).
(b) **One long source, chunked**: a generated 720p clip with a scene change every
    ``--scene-seconds`` (different lavfi sources one after the other, a tone), the default
    renditions (the default workflow's transcodes), ``REELFLOW_FFMPEG_THREADS=1``: one
    worker unchunked (``chunk_seconds`` 0) vs two workers chunked (``--chunk-seconds``).
    Wall time from submission to the task's end, medians of ``--runs`` interleaved runs.
    Goals: speed-up >= 1.8x; split + join <= 5 % of the serial time. Needs the engine's
    chunking (jobs of kind ``chunk`` with a ``chunked`` part, and ``join``): without it
    the two-worker run has no chunk jobs and (b) says so.
(c) **A model** for a 2-hour source at 4, 8 and 16 workers, from (b)'s measured chunk
    times (encode seconds per second of source), split cost per chunk boundary, audio and
    join costs (scaled with the source's length), the per-job dispatch gap, and the chunk
    count (``floor(D / C)``, C = ``--model-chunk-seconds``, the setting's default 60 s):
    the chunks and the audio job are placed on the workers longest first, after the split;
    the join follows the last. Printed next to the goal 0.8 N.
(d) **Per-chunk CPU against the one-shot encode**, without Celery or a database: (b)'s clip and
    renditions, the jobs' own commands (the split's scans and ``plan_chunks``, ``build_command`` for
    the one-shot, ``fused_chunk_command`` per chunk in one pass (each chunk's first 0.5 s at a
    higher rate), and with a first pass, ``audio_command``), one FFmpeg thread, run one after the
    other in this process; each FFmpeg process's CPU (user + sys) and decoded frames. Prints each
    chunk's CPU per source second over the one-shot's (its CPU less the audio's), the chunks' total
    ratio, and the split's CPU. CPU seconds hold on a loaded machine where wall times do not.
    ``--seek-by-time`` plans no keyframe seek (as before it).
(e) **The split, one job vs several** (``--only e``), without Celery: (b)'s clip, the split
    jobs' own work (``scan_frames``, scdet around each boundary, ``find_boundaries``) as one
    job over every boundary, then as jobs of at most ``--split-boundaries`` boundaries (1
    when that covers them all) run side by side in processes of their own; wall, CPU, the
    packet scan's seconds, and whether the assembled plans are identical.

Missed goals are reported, never asserted; a task that does not succeed stops the bench
with exit code 1. The machine is shared: the load average is printed before and after.

    .venv/bin/python bench/chunked_bench.py                    # (a), (b), (c)
    .venv/bin/python bench/chunked_bench.py --only a --quick   # (a) on a 720p 4 s clip
    .venv/bin/python bench/chunked_bench.py --only b --duration 60 --preset veryfast
    .venv/bin/python bench/chunked_bench.py --only d --duration 60 --chunk-seconds 10
    .venv/bin/python bench/chunked_bench.py --only e --duration 180 --chunk-seconds 30
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cluster_bench import bound, cpu_seconds, drop_queue, fresh_schema, own_cpu, workers
from sqlalchemy import select

from reelflow.config import Settings
from reelflow.db.models import Job
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.ports import Executor
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.executors.celery.app import make_app
from reelflow.executors.celery.executor import CeleryExecutor
from reelflow.executors.chunks import SCENE_REACH
from reelflow.executors.jobs import JobRuntime
from reelflow.executors.local import LocalExecutor
from reelflow.media.chunks import (
    FrameScan,
    assemble_plan,
    audio_command,
    boundary_ranges,
    chunk_count,
    find_boundaries,
    fused_chunk_command,
    output_frame_times,
    plan_chunks,
    scan_frames,
    scene_command,
    scene_times,
)
from reelflow.media.command import build_command
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.media.probe import probe
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets import PresetLookup
from reelflow.presets.default_workflow import default_media_process_task
from reelflow.specs.chunks import ChunkPlan, SplitFound
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import TaskState
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.works import TranscodeWork
from reelflow.storage.registry import build_storages
from reelflow.wiring.jobs import build_planner

REDIS_URL = os.environ.get("REELFLOW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
GOAL_CPU_RATIO = 1.05
GOAL_SPEEDUP = 1.8
GOAL_OVERHEAD = 0.05
MODEL_SOURCE = 2 * 3600.0
MODEL_WORKERS = (4, 8, 16)
RUN_TIMEOUT = 3 * 3600.0
POLL = 0.5
# Scene after scene: sources that look nothing alike (a cut between two is a scene change);
# the random ones seeded, so every run (and part) encodes the same clip.
SCENES = (
    "testsrc2=size={w}x{h}:rate=25",
    "gradients=size={w}x{h}:rate=25:speed=0.02",
    "smptehdbars=size={w}x{h}:rate=25",
    "life=size={w}x{h}:rate=25:mold=10:ratio=0.5:death_color=#c83232:seed=19",
    "cellauto=size={w}x{h}:rate=25:rule=110:seed=19",
    "rgbtestsrc=size={w}x{h}:rate=25",
)


# -- sources -------------------------------------------------------------------------------


def make_clip(ffmpeg: Path, path: Path, width: int, height: int, duration: float) -> None:
    """testsrc2 and a tone, H.264/AAC in MP4 (the default workflow's source)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={duration}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path)]  # fmt: skip
    subprocess.run(args, check=True)


def make_scenes(ffmpeg: Path, path: Path, duration: float, scene: float) -> None:
    """A 1280x720 25 fps clip whose content changes every ``scene`` seconds (the lavfi
    sources of ``SCENES`` in turn, each with a moving overlay so no scene is static), and
    a tone; H.264 (a keyframe every 10 s, scene-cut keyframes as x264 places them)/AAC."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = max(1, math.ceil(duration / scene))
    inputs: list[str] = []
    chains: list[str] = []
    for n in range(count):
        length = min(scene, duration - n * scene)
        source = SCENES[n % len(SCENES)].format(w=1280, h=720)
        inputs += ["-f", "lavfi", "-t", f"{length:.3f}", "-i", source]
        # A moving box: every scene has motion for the encoder, whatever its source.
        chains.append(
            f"[{n}:v]format=yuv420p,drawbox=x='mod(t*200,1180)':y='mod(t*90,620)':w=100:"
            f"h=100:color=white@0.8:t=fill,setpts=PTS-STARTPTS[v{n}]"
        )
    joined = "".join(f"[v{n}]" for n in range(count))
    graph = ";".join(chains) + f";{joined}concat=n={count}:v=1:a=0[v]"
    args = [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y", *inputs,
            "-f", "lavfi", "-i", f"sine=frequency=330:duration={duration}",
            "-filter_complex", graph, "-map", "[v]", "-map", f"{count}:a",
            "-c:v", "libx264", "-preset", "veryfast", "-g", "250", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-t", str(duration), str(path)]  # fmt: skip
    subprocess.run(args, check=True)


# -- running tasks -------------------------------------------------------------------------


@dataclass
class JobTime:
    kind: str  # probe, media, or the chunked part's role (split, difficulty, video, audio, join)
    started: float  # seconds since the first submission
    seconds: float  # claimed -> result applied
    chunk: dict[str, object] | None = None  # a chunk's part: its index, start, end
    rate_factor: float = 1.0
    difficulty: float = 0.0


@dataclass
class Run:
    label: str
    seconds: float
    tasks: int
    jobs: list[JobTime] = field(default_factory=list)
    ffmpeg_cpu: float = 0.0  # the FFmpeg processes' CPU seconds
    total_cpu: float = 0.0  # this process, the workers and their children


def run_tasks(
    settings: Settings, executor: Executor | None, requests: list[TaskRequest], label: str
) -> Run:
    """Submit ``requests`` at once; drive them to the end with a scheduler here."""
    db = create_db_engine(settings.resolved_database_url())
    migrate(db)
    sessions = session_factory(db)
    engine = Engine(sessions, build_planner(settings), settings)
    if executor is None:
        executor = CeleryExecutor(
            make_app(settings), queue=settings.celery_queue, slots=settings.cluster_slots
        )
    scheduler = Scheduler(engine, executor, settings)
    engine.on_jobs_added = scheduler.wake
    try:
        started = time.monotonic()
        ids = [engine.submit(request) for request in requests]
        scheduler.start(poll=POLL)
        live = [TaskState.QUEUED, TaskState.RUNNING]
        while engine.count_tasks(state=live) > 0:
            if time.monotonic() - started > RUN_TIMEOUT:
                raise SystemExit(f"{label}: tasks still running after {RUN_TIMEOUT} s")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        for task_id in ids:
            view = engine.task_view(task_id)
            if view.state is not TaskState.SUCCEEDED:
                raise SystemExit(f"{label}: task {task_id} did not succeed: {view.subtasks}")
        with sessions() as session:
            rows = session.scalars(select(Job)).all()
        first = min(row.started_at for row in rows if row.started_at is not None)
        jobs = [
            JobTime(
                _role(row),
                (row.started_at - first).total_seconds(),
                (row.finished_at - row.started_at).total_seconds(),
                *_part(row),
            )
            for row in rows
            if row.started_at is not None and row.finished_at is not None
        ]
        return Run(label, seconds, len(ids), jobs)
    finally:
        scheduler.stop()
        db.dispose()


def _part(row: Job) -> tuple[dict[str, object] | None, float, float]:
    """A chunked part's chunk, rate factor and difficulty (``None``, 1, 0 for the others)."""
    chunked = (row.payload or {}).get("chunked")
    if not isinstance(chunked, dict):
        return None, 1.0, 0.0
    chunk = chunked.get("chunk")
    return (
        chunk if isinstance(chunk, dict) else None,
        float(chunked.get("rate_factor") or 1.0),
        float(chunked.get("difficulty") or 0.0),
    )


def _role(row: Job) -> str:
    chunked = (row.payload or {}).get("chunked")
    if isinstance(chunked, dict) and chunked.get("role"):
        role = str(chunked["role"])
        return "difficulty" if role == "probe" else role  # not the source's media probe
    return str(row.kind.value)


def children_cpu() -> float:
    """CPU of this process's reaped children (the local executor's FFmpegs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reaped_cpu(pid: int) -> float:
    """CPU of a live process's reaped children (a worker's FFmpegs), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[13:15]) / os.sysconf("SC_CLK_TCK")


def celery_run(base: Settings, env: dict[str, str], root: Path, count: int,
               requests: list[TaskRequest], label: str, *, cpus: Sequence[int] = (),
               **changes: object) -> Run:  # fmt: skip
    with fresh_schema() as url:
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        settings = base.model_copy(
            update={"database_url": url, "celery_queue": queue, "executor": "celery", **changes}
        )
        run_env = {
            **env,
            "REELFLOW_DATABASE_URL": url,
            "REELFLOW_CELERY_QUEUE": queue,
            **{f"REELFLOW_{k.upper()}": _env(v) for k, v in changes.items()},
        }
        migrate(url)  # before the workers start, so that they do not race the bench for it
        try:
            with workers(count, run_env, root, cpus=cpus) as pids:
                ffmpeg0 = sum(reaped_cpu(pid) for pid in pids)
                total0 = own_cpu() + sum(cpu_seconds(pid) for pid in pids)
                run = run_tasks(settings, None, requests, label)
                run.ffmpeg_cpu = sum(reaped_cpu(pid) for pid in pids) - ffmpeg0
                run.total_cpu = own_cpu() + sum(cpu_seconds(pid) for pid in pids) - total0
                return run
        finally:
            drop_queue(queue)


def local_run(base: Settings, requests: list[TaskRequest], label: str) -> Run:
    with fresh_schema() as url:
        settings = base.model_copy(update={"database_url": url, "executor": "local"})
        runtime = JobRuntime(
            find_ffmpeg(settings.ffmpeg), build_storages(settings), settings.data_dir / "scratch"
        )
        ffmpeg0, total0 = children_cpu(), own_cpu()
        run = run_tasks(settings, LocalExecutor(runtime, slots=1), requests, label)
        run.ffmpeg_cpu = children_cpu() - ffmpeg0
        run.total_cpu = own_cpu() - total0
        return run


def _env(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- (a) CPU per task ----------------------------------------------------------------------


def part_a(args: argparse.Namespace, root: Path, base: Settings, env: dict[str, str]) -> None:
    ffmpeg = find_ffmpeg(base.ffmpeg)
    width, height, duration = (1280, 720, 4.0) if args.quick else (1920, 1080, args.a_duration)
    clip = root / "bucket" / "in" / "a.mp4"
    make_clip(ffmpeg, clip, width, height, duration)
    task = default_media_process_task(probe(clip))
    requests = [
        TaskRequest(
            source=TaskSource(type="bucket", bucket="media", key="in/a.mp4"),
            media_process_task=task,
            output_dir=f"out/{n}/",
        )
        for n in range(args.tasks)
    ]
    kinds = ("embedded", "cluster, fused", "cluster, fan-out")
    runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    for _ in range(args.runs):  # interleaved: a slow moment of the machine hits every mode
        runs["embedded"].append(local_run(base, requests, "embedded"))
        runs["cluster, fused"].append(
            celery_run(base, env, root, 1, requests, "cluster, fused", cluster_fanout=False)
        )
        runs["cluster, fan-out"].append(
            celery_run(base, env, root, 1, requests, "cluster, fan-out", cluster_fanout=True)
        )
    subtasks = len(task.transcode_task_set) + 4
    print(
        f"(a) CPU seconds per task, default workflow ({subtasks} sub-tasks) on a "
        f"{width}x{height} {duration:g} s clip, x264 {base.video_preset}, {args.tasks} task(s) "
        f"a run, {args.runs} interleaved runs, medians (1 worker, concurrency 1)"
    )
    per_task = {
        kind: (
            statistics.median(r.ffmpeg_cpu / r.tasks for r in measured),
            statistics.median(r.total_cpu / r.tasks for r in measured),
            statistics.median(sum(j.kind == "media" for j in r.jobs) / r.tasks for r in measured),
        )
        for kind, measured in runs.items()
    }
    for kind, (ffmpeg_cpu, total_cpu, media_jobs) in per_task.items():
        spread = ", ".join(f"{r.ffmpeg_cpu / r.tasks:.1f}" for r in runs[kind])
        print(
            f"  {kind:<17} FFmpeg {ffmpeg_cpu:6.2f} CPU-s  (runs: {spread})   all processes "
            f"{total_cpu:6.2f} CPU-s   media jobs a task {media_jobs:.0f}"
        )
    fused = per_task["cluster, fused"][0] / per_task["embedded"][0]
    fused_all = per_task["cluster, fused"][1] / per_task["embedded"][1]
    fanout = per_task["cluster, fan-out"][0] / per_task["embedded"][0]
    verdict = "met" if fused <= GOAL_CPU_RATIO else "MISSED"
    print(
        f"  cluster / embedded: fused {fused:.2f}x FFmpeg ({fused_all:.2f}x all processes; "
        f"goal <= {GOAL_CPU_RATIO}: {verdict}); fan-out {fanout:.2f}x FFmpeg"
    )


# -- (b) chunks and (c) the model ----------------------------------------------------------


@dataclass
class Costs:
    """What (b) measured, per second of source: what the model scales."""

    source: float  # seconds of source
    chunk_seconds: float
    serial: float  # the unchunked run, wall
    video: list[float]  # each chunk job's seconds
    split: float
    audio: float
    join: float
    gap: float  # per job: wall time of the chunked run not spent in its jobs' critical path
    # How much slower an encoder runs beside another on this machine than alone (the
    # two-encoder check): the chunk jobs of (b) ran two at a time, the serial run alone.
    contention: float = 1.0
    # The split's fixed part, per split job: one packet scan of (b)'s source (demux only,
    # in this process; it scales with the length), and how many split jobs (b) ran.
    scan: float = 0.0
    splits: int = 1
    per_split: int = 8  # boundaries per split job (REELFLOW_CHUNK_SPLIT_BOUNDARIES)
    # Each chunk's difficulty probe (REELFLOW_CHUNK_RATES; none with --no-rates): a stage of
    # its own between the split and the chunks.
    probes: list[float] = field(default_factory=list)

    @property
    def per_boundary(self) -> float:
        """The split's seconds per boundary: its scene scans (its jobs less their scans)."""
        boundaries = max(1, len(self.video) - 1)
        return max(0.0, self.split - self.splits * self.scan) / boundaries


def encoder_ceiling(
    ffmpeg: Path, clip: Path, preset: str, runs: int = 3, *, cpus: Sequence[int] = ()
) -> tuple[float, float]:
    """(seconds of one single-threaded x264 encode of the clip's first 10 s alone, seconds
    of two of them at once), medians of ``runs`` interleaved: what two workers on this
    machine can gain at best, whatever the engine does. ``cpus``: the encode alone bound to
    ``cpus[0]``, the two to ``cpus[0]`` and ``cpus[1]``, as the workers are."""
    args = [str(ffmpeg), "-v", "error", "-nostdin", "-y", "-threads", "1", "-t", "10"]
    args += ["-i", str(clip), "-an", "-c:v", "libx264", "-preset", preset, "-threads", "1"]
    args += ["-b:v", "2500k", "-f", "null", os.devnull]
    alone: list[float] = []
    pair: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(bound(args, _cpu(cpus, 0)), check=True)
        alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        both = [subprocess.Popen(bound(args, _cpu(cpus, i))) for i in range(2)]
        if any(p.wait() != 0 for p in both):
            raise RuntimeError("the two-encoder check failed")
        pair.append(time.perf_counter() - start)
    return statistics.median(alone), statistics.median(pair)


def _cpu(cpus: Sequence[int], index: int) -> int | None:
    return cpus[index % len(cpus)] if cpus else None


def worker_cpus(pin: bool) -> tuple[int, ...]:
    """The CPUs (b) binds its workers to, one each (``--no-pin``: none). FFmpeg's command
    line runs each encoder, decoder and filter graph in a thread of its own, so one worker
    whose job encodes three renditions with ``REELFLOW_FFMPEG_THREADS=1`` still keeps 1.7
    cores busy (measured): bound to one CPU each, N workers on one machine stand in for N
    machines of one core, as the issue's setting intends."""
    return tuple(sorted(os.sched_getaffinity(0)))[:2] if pin else ()


def _report_probes(probes: list[float], serial: float) -> None:
    if probes:
        print(
            f"  difficulty probes: {len(probes)} jobs, {sum(probes):.1f} s in all "
            f"({sum(probes) / serial:.1%} of the serial time), {schedule(probes, 2):.1f} s of "
            "wall on 2 workers"
        )


def _report_timeline(jobs: list[JobTime]) -> None:
    """The median chunked run's parts in the order they started: what each chunk was
    (its length, its probe's difficulty, its rate factor) and when it ran."""
    difficulty = {
        j.chunk.get("index"): j.difficulty for j in jobs if j.kind == "difficulty" and j.chunk
    }
    print("  timeline (start -> end, s): ")
    for j in sorted(jobs, key=lambda j: j.started):
        what = j.kind
        if j.chunk is not None:
            length = float(j.chunk.get("end", 0.0)) - float(j.chunk.get("start", 0.0))  # type: ignore[arg-type]
            what += f" {j.chunk.get('index')} ({length:.1f} s"
            if j.kind == "video":
                what += f", factor {j.rate_factor:.2f}, "
                what += f"difficulty {difficulty.get(j.chunk.get('index'), 0.0) / 1000:.0f} kbit/s"
            what += ")"
        print(f"    {j.started:7.1f} -> {j.started + j.seconds:7.1f}  {what}")


def part_b(args: argparse.Namespace, root: Path, base: Settings, env: dict[str, str]) -> None:
    ffmpeg = find_ffmpeg(base.ffmpeg)
    clip = root / "bucket" / "in" / "long.mp4"
    make_scenes(ffmpeg, clip, args.duration, args.scene_seconds)
    full = default_media_process_task(probe(clip))
    renditions = MediaProcessTask(transcode_task_set=full.transcode_task_set)
    request = TaskRequest(
        source=TaskSource(type="bucket", bucket="media", key="in/long.mp4"),
        media_process_task=renditions,
        output_dir="out/long/",
    )
    cpus = worker_cpus(args.pin)
    one, two = encoder_ceiling(ffmpeg, clip, base.video_preset, cpus=cpus)
    ceiling = 2 * one / two
    serial: list[Run] = []
    chunked: list[Run] = []
    # One job in flight per worker: a job's claimed -> applied time is its run (plus the
    # dispatch), not a wait in the broker.
    threads = {"ffmpeg_threads": 1, "cluster_slots": 1}
    for _ in range(args.runs):
        serial.append(
            celery_run(
                base,
                env,
                root,
                1,
                [request],
                "1 worker",
                cpus=cpus[:1],
                chunk_seconds=0,
                **threads,
            )
        )
        chunking = {
            "chunk_seconds": args.chunk_seconds,
            "chunk_first_pass": args.first_pass,
            "chunk_rates": args.rates,
            "chunk_split_boundaries": args.split_boundaries,
            **threads,
        }
        chunking["cluster_slots"] = 2
        chunked.append(
            celery_run(base, env, root, 2, [request], "2 workers, chunked", cpus=cpus, **chunking)
        )
    definitions = [t.definition for t in renditions.transcode_task_set]
    print(
        f"(b) one 1280x720 {args.duration:g} s source, a scene every {args.scene_seconds:g} s, "
        f"renditions {definitions}, x264 {base.video_preset}, REELFLOW_FFMPEG_THREADS=1, "
        f"chunks of {args.chunk_seconds:g} s, first pass per chunk "
        f"{'on' if args.first_pass else 'off (boosted start)'}, difficulty probes "
        f"{'on' if args.rates else 'off'}; "
        f"{args.runs} interleaved runs, medians; "
        + (
            f"each worker bound to one CPU ({', '.join(map(str, cpus))})"
            if cpus
            else "workers not bound to CPUs (--no-pin)"
        )
    )
    t1 = statistics.median(r.seconds for r in serial)
    t2 = statistics.median(r.seconds for r in chunked)
    for label, wall, measured in (
        ("1 worker, unchunked", t1, serial),
        ("2 workers, chunked", t2, chunked),
    ):
        spread = ", ".join(f"{r.seconds:.1f}" for r in measured)
        cpu = statistics.median(r.ffmpeg_cpu for r in measured)
        print(f"  {label:<20} {wall:7.1f} s  (runs: {spread}); FFmpeg CPU {cpu:.1f} s")
    cpu1 = statistics.median(r.ffmpeg_cpu for r in serial)
    cpu2 = statistics.median(r.ffmpeg_cpu for r in chunked)
    print(f"  FFmpeg CPU, chunked / unchunked: {cpu2 / cpu1:.2f}x" if cpu1 else "")
    print(
        f"  this machine: one single-threaded x264 encode of 10 s alone {one:.2f} s, two at once "
        f"{two:.2f} s: two workers here reach at most {ceiling:.2f}x the throughput of one"
    )
    best = min(chunked, key=lambda r: abs(r.seconds - t2))  # the median run's jobs
    roles = [j.kind for j in best.jobs]
    if "video" not in roles:
        print(
            "  no chunk jobs ran (jobs: "
            f"{', '.join(sorted(set(roles)))}): this build does not chunk yet; (b)'s speed-up "
            "and (c) need the engine's chunking"
        )
        return
    split, join, audio = (sum(j.seconds for j in best.jobs if j.kind == k) for k in
                          ("split", "join", "audio"))  # fmt: skip
    video, probes = (sorted(j.seconds for j in best.jobs if j.kind == k) for k in
                     ("video", "difficulty"))  # fmt: skip
    print(f"  chunk jobs, s: {', '.join(f'{v:.2f}' for v in video)}")
    _report_timeline(best.jobs)
    _report_probes(probes, t1)
    speedup = t1 / t2
    overhead = (split + join) / t1
    print(
        f"  jobs of the median chunked run: split {split:.1f} s, {len(video)} chunks "
        f"{min(video):.1f}-{max(video):.1f} s (sum {sum(video):.2f} s), audio {audio:.1f} s, "
        f"join {join:.1f} s"
    )
    print(
        f"  speed-up {speedup:.2f}x (goal >= {GOAL_SPEEDUP}: "
        f"{'met' if speedup >= GOAL_SPEEDUP else 'MISSED'}); split + join {overhead:.1%} of "
        f"the serial time (goal <= {GOAL_OVERHEAD:.0%}: "
        f"{'met' if overhead <= GOAL_OVERHEAD else 'MISSED'})"
    )
    splits = roles.count("split")
    split_wall = max(
        (j.seconds for j in best.jobs if j.kind == "split"), default=0.0
    )  # the jobs ran side by side: the longest is the split's wall at best
    placed = schedule([*video, audio], 2) + (schedule(probes, 2) if probes else 0.0)
    gap = max(0.0, (t2 - split_wall - join - placed) / (len(video) + len(probes) + 3))
    contention = max(1.0, 2 / ceiling)
    scan = scan_seconds(clip)
    costs = Costs(
        args.duration, args.chunk_seconds, t1, video, split, audio, join, gap, contention,
        scan=scan, splits=splits, per_split=args.split_boundaries, probes=probes,
    )  # fmt: skip
    print(
        f"  split: {splits} job(s), {split:.1f} s in all; one packet scan of the source "
        f"(demux only) {scan:.2f} s, so {costs.per_boundary:.2f} s per boundary"
    )
    part_c(costs, args.model_chunk_seconds or args.chunk_seconds)


# -- (d) chunk CPU against the one-shot encode, media layer only ------------------------------


@dataclass
class FFmpegRun:
    cpu: float  # user + sys of the FFmpeg process
    decoded: int  # video frames the decoder made


def ffmpeg_cpu(ffmpeg: Path, args: Sequence[str]) -> FFmpegRun:
    """Run FFmpeg (``-v verbose`` for its per-stream counts); its CPU and decoded frames."""
    before = children_cpu()
    done = subprocess.run(
        [str(ffmpeg), "-hide_banner", "-nostdin", "-v", "verbose", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"ffmpeg failed: {done.stderr[-2000:]}")
    found = re.search(r"\(video\): \d+ packets read[^;]*; (\d+) frames decoded", done.stderr)
    return FFmpegRun(children_cpu() - before, int(found.group(1)) if found else 0)


def split_clip(
    ffmpeg: Path, clip: Path, fps: float, seconds: float, work_dir: Path
) -> tuple[ChunkPlan | None, FrameScan, FFmpegRun]:
    """The split, as the split job makes it (executors/chunks.py): the packets, then scdet
    in a window around each boundary's target; the plan, the scan and the scdet runs' cost."""
    src = str(clip)
    scan = scan_frames(clip)
    count = int(scan.end // seconds)
    look = min(seconds / 4, SCENE_REACH)
    split = FFmpegRun(0.0, 0)
    scenes: list[float] = []
    for k in range(1, count):
        printed = work_dir / f"scenes{k}.txt"
        target = k * scan.end / count
        run = ffmpeg_cpu(ffmpeg, scene_command(src, target - look, 2 * look, printed, threads=1))
        split = FFmpegRun(split.cpu + run.cpu, split.decoded + run.decoded)
        if printed.exists():
            scenes += scene_times(printed.read_text(encoding="utf-8"), scan.offset)
    frames = output_frame_times(scan.end, fps)
    plan = plan_chunks(
        frames, scan.end, seconds, keyframes=scan.keyframes, scenes=scenes, window=seconds / 4
    )
    return plan, scan, split


def scan_seconds(clip: Path, runs: int = 3) -> float:
    """Seconds of one packet scan of ``clip`` (``scan_frames``: demux only, what every split
    job does first), median of ``runs``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        scan_frames(clip)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def split_range(
    ffmpeg: str, clip: str, fps: float, seconds: float, first: int, last: int, work_dir: str
) -> tuple[SplitFound, float]:
    """One split job's work, as ``executors/chunks.py`` does it (the packets, the count from
    them, scdet around each boundary of the range, ``find_boundaries``), in a process of its
    own; (what it found, its packet scan's seconds)."""
    start = time.perf_counter()
    scan = scan_frames(clip)
    scanned = time.perf_counter() - start
    count = chunk_count(scan.end, seconds)
    look = min(seconds / 4, SCENE_REACH)
    last = min(count - 1, last or count - 1)
    scenes: list[float] = []
    for k in range(first, last + 1):
        printed = Path(work_dir) / f"scenes{k}.txt"
        target = k * scan.end / count
        args = scene_command(clip, target - look, 2 * look, printed, threads=1)
        subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", *args], check=True)
        if printed.exists():
            scenes += scene_times(printed.read_text(encoding="utf-8"), scan.offset)
    frames = output_frame_times(scan.end, fps)
    found = find_boundaries(
        frames, scan.end, seconds, keyframes=scan.keyframes, scenes=scenes, window=seconds / 4,
        first=first, last=last,
    )  # fmt: skip
    return found, scanned


def part_e(args: argparse.Namespace, root: Path, base: Settings) -> None:
    """The split: one split job over every boundary vs split jobs of at most
    ``--split-boundaries`` boundaries run side by side (one process each, as many at once as
    this process may use CPUs); wall and CPU (the processes and their FFmpeg children), and
    whether the plans are identical."""
    from concurrent.futures import ProcessPoolExecutor

    ffmpeg = str(find_ffmpeg(base.ffmpeg))
    clip = root / "e" / "long.mp4"
    make_scenes(find_ffmpeg(base.ffmpeg), clip, args.duration, args.scene_seconds)
    fps = 25.0  # the default renditions' output rate on this 25 fps source
    seconds = args.chunk_seconds
    boundaries = chunk_count(probe(clip).duration or 0.0, seconds) - 1
    per_split = args.split_boundaries if 0 < args.split_boundaries < boundaries else 1
    slots = len(os.sched_getaffinity(0))
    print(
        f"(e) the split of one 1280x720 {args.duration:g} s source in chunks of {seconds:g} s "
        f"({boundaries} boundaries): one split job vs jobs of at most {per_split} "
        f"boundaries, {slots} at once; {args.runs} interleaved run(s), medians"
    )
    results: dict[str, list[tuple[float, float, ChunkPlan | None, float]]] = {}
    for _ in range(args.runs):
        for label, ranges, pool in (
            ("one split job", [(1, 0)], 1),
            (f"{len(boundary_ranges(boundaries, per_split))} split jobs",
             boundary_ranges(boundaries, per_split), slots),
        ):  # fmt: skip
            before = children_cpu()
            start = time.perf_counter()
            work_dir = root / "e" / uuid.uuid4().hex[:8]
            work_dir.mkdir()
            with ProcessPoolExecutor(max_workers=pool) as executor:
                futures = [
                    executor.submit(
                        split_range, ffmpeg, str(clip), fps, seconds, x, y, str(work_dir)
                    )
                    for x, y in ranges
                ]
                done = [future.result() for future in futures]
            wall = time.perf_counter() - start
            cpu = children_cpu() - before
            plan = assemble_plan([found for found, _ in done], seconds)
            scan = statistics.median(scanned for _, scanned in done)
            results.setdefault(label, []).append((wall, cpu, plan, scan))
    plans = {label: runs[0][2] for label, runs in results.items()}
    for label, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        scan = statistics.median(r[3] for r in runs)
        print(
            f"  {label:<14} wall {wall:6.2f} s, CPU {cpu:6.2f} s (processes and FFmpeg); "
            f"a packet scan {scan:.2f} s ({scan * MODEL_SOURCE / args.duration:.1f} s for a "
            f"{MODEL_SOURCE / 3600:g}-hour source)"
        )
    first, *rest = plans.values()
    same = all(plan == first for plan in rest)
    starts = ", ".join(f"{c.start:g}" for c in first.chunks) if first else "none"
    print(f"  plans identical: {'yes' if same else 'NO'} (chunks at {starts} s)")


def part_d(args: argparse.Namespace, root: Path, base: Settings) -> None:
    """Per-chunk FFmpeg CPU against the one-shot encode of the same renditions, with the
    commands the jobs run (no Celery, no database): robust on a loaded machine."""
    ffmpeg = find_ffmpeg(base.ffmpeg)
    clip = root / "d" / "long.mp4"
    make_scenes(ffmpeg, clip, args.duration, args.scene_seconds)
    info = probe(clip)
    full = default_media_process_task(info)
    request = TaskRequest(
        source=TaskSource(type="bucket", bucket="media", key="in/long.mp4"),
        media_process_task=MediaProcessTask(transcode_task_set=full.transcode_task_set),
    )
    [planned] = DefaultPlanner().plan(resolve_request(request, PresetLookup()), info, "l").jobs
    works = [w for w in planned.works if isinstance(w, TranscodeWork)]
    work_dir = root / "d" / "work"
    work_dir.mkdir()
    preset, src, seconds = base.video_preset, str(clip), args.chunk_seconds
    plan, scan, split = split_clip(ffmpeg, clip, works[0].fps, args.chunk_seconds, work_dir)
    assert plan is not None, "the clip is too short to chunk"
    if args.seek_by_time:  # as before the keyframe seek: each chunk seeks by time
        chunks = [c.model_copy(update={"keyframe_seek": None}) for c in plan.chunks]
        plan = plan.model_copy(update={"chunks": chunks})
    audio = sum(
        ffmpeg_cpu(ffmpeg, a).cpu
        for a in (
            audio_command(src, info, w, work_dir / f"a{w.index}.m4a", threads=1) for w in works
        )
        if a is not None
    )
    definitions = [w.definition for w in works]
    print(
        f"(d) per-chunk CPU: one 1280x720 {scan.end:g} s source ({len(scan.keyframes)} "
        f"keyframes), renditions {definitions}, x264 {preset}, one FFmpeg thread, chunks of "
        f"{seconds:g} s at {', '.join(f'{c.start:g}' for c in plan.chunks)} s; "
        f"{args.runs} run(s), medians"
    )
    one_runs, modes = [], {True: [], False: []}  # type: ignore[var-annotated]
    per_chunk: dict[tuple[bool, int], list[FFmpegRun]] = {}
    for _ in range(args.runs):
        command = build_command(src, info, works, work_dir, video_preset=preset, threads=1)
        one_runs.append(ffmpeg_cpu(ffmpeg, command.args))
        for first_pass in (False, True):
            total = 0.0
            for chunk in plan.chunks:
                outs = [work_dir / f"c{chunk.index}-{w.index}.mp4" for w in works]
                chunked = fused_chunk_command(
                    src, info, works, chunk, outs, work_dir=work_dir, video_preset=preset,
                    threads=1, first_pass=first_pass,
                )  # fmt: skip
                for path, data in chunked.files.items():
                    path.write_bytes(data)
                runs = [ffmpeg_cpu(ffmpeg, a) for a in chunked.runs]
                cpu = sum(r.cpu for r in runs)
                per_chunk.setdefault((first_pass, chunk.index), []).append(
                    FFmpegRun(cpu, runs[0].decoded)  # the first run decodes; copies do not
                )
                total += cpu
            modes[first_pass].append(total)
    one = statistics.median(r.cpu for r in one_runs)
    video = one - audio  # the one-shot's video: its CPU less the audio job's
    rate = video / scan.end
    print(
        f"  one-shot (video and audio, one process): {one:.2f} CPU-s; audio alone "
        f"{audio:.2f}; video {rate:.3f} CPU-s per source-s; decoded {one_runs[0].decoded}"
    )
    print("  chunk  start-end (s)  decoded  CPU-s 1 pass  /s   ratio | with first pass  /s  ratio")
    for chunk in plan.chunks:
        single = per_chunk[(False, chunk.index)]
        double = per_chunk[(True, chunk.index)]
        c1 = statistics.median(r.cpu for r in single)
        c2 = statistics.median(r.cpu for r in double)
        d = chunk.duration
        print(
            f"  {chunk.index:5d}  {chunk.start:6.2f}-{chunk.end:6.2f}  {single[0].decoded:7d}  "
            f"{c1:12.2f}  {c1 / d:.3f}  {c1 / d / rate:.2f} | {c2:15.2f}  {c2 / d:.3f}  "
            f"{c2 / d / rate:.2f}"
        )
    for first_pass in (False, True):
        total = statistics.median(modes[first_pass])
        label = "with a first pass" if first_pass else "one pass (boosted start)"
        print(
            f"  chunks, {label}: {total:.2f} CPU-s, {total / scan.end:.3f} per source-s: "
            f"chunk / one-shot video CPU {total / video:.2f}x; the whole chunked encode "
            f"(split + chunks + audio) / one-shot {(split.cpu + total + audio) / one:.2f}x"
        )
    print(
        f"  split: {split.cpu:.2f} CPU-s ({split.decoded} frames decoded of "
        f"{len(scan.times)}), {split.cpu / one:.1%} of the one-shot encode"
    )


def schedule(jobs: Sequence[float], workers: int) -> float:
    """The end of the last of ``jobs`` placed longest first, each on the worker free first."""
    free = [0.0] * workers
    for seconds in sorted(jobs, reverse=True):
        heapq.heapreplace(free, free[0] + seconds)
    return max(free)


def predict(
    costs: Costs, source: float, workers: int, chunk_seconds: float, *, apart: bool = False
) -> tuple[float, float, int]:
    """(serial seconds, chunked seconds, chunks) for a ``source`` s source on ``workers``
    in chunks of ``chunk_seconds``; ``apart``: each worker on a machine of its own (the
    chunk times of (b), measured two at a time on this machine, divided by the two-encoder
    check's slowdown)."""
    scale = source / costs.source
    chunks = max(1, math.floor(source / chunk_seconds))
    per_chunk = sum(costs.video) / costs.source * (source / chunks)  # encode s per chunk
    if apart:
        per_chunk /= costs.contention
    serial = costs.serial * scale
    jobs = [per_chunk + costs.gap] * chunks + [costs.audio * scale + costs.gap]
    per_probe = sum(costs.probes) / costs.source * (source / chunks)
    probes = schedule([per_probe + costs.gap] * chunks, workers) if costs.probes else 0.0
    # The split looks for a scene cut in a window of its own around each boundary (a cost
    # that follows the boundaries), in split jobs of at most ``per_split`` boundaries run
    # side by side, each scanning the packets first (a cost that follows the length).
    ranges = boundary_ranges(chunks - 1, costs.per_split)
    split_jobs = [
        costs.scan * scale + costs.per_boundary * ((last or chunks - 1) - first + 1) + costs.gap
        for first, last in ranges
    ]
    split = schedule(split_jobs, workers)
    chunked = split + costs.gap + probes + schedule(jobs, workers) + costs.join * scale + costs.gap
    return serial, chunked, chunks


def part_c(costs: Costs, chunk_seconds: float) -> None:
    hours = MODEL_SOURCE / 3600
    print(
        f"(c) model: a {hours:g}-hour source, chunks of {chunk_seconds:g} s, from (b): "
        f"{sum(costs.video) / costs.source:.2f} encode-s per source-s in chunks, serial "
        f"{costs.serial / costs.source:.2f} s per source-s, split "
        f"{costs.per_boundary:.2f} s per boundary in jobs of at most {costs.per_split or 'all'} "
        f"boundaries side by side, each first scanning the packets "
        f"({costs.scan * MODEL_SOURCE / costs.source:.1f} s for the model's source), audio "
        f"{costs.audio:.1f} s and join {costs.join:.1f} s per {costs.source:g} s of source "
        f"(scaled with the length), {costs.gap:.2f} s a job between jobs, difficulty probes "
        f"{sum(costs.probes) / costs.source:.3f} s per source-s (a stage before the chunks)"
    )
    check = predict(costs, costs.source, 2, costs.chunk_seconds)
    print(f"  the model at (b)'s source, 2 workers: {check[0] / check[1]:.2f}x")
    for apart in (False, True):
        print(
            f"  workers on machines of their own: chunk times / {costs.contention:.2f} "
            "(the two-encoder check's slowdown)"
            if apart
            else "  workers as slow as two sharing this machine (chunk times as measured)"
        )
        for workers_ in MODEL_WORKERS:
            serial, chunked, chunks = predict(
                costs, MODEL_SOURCE, workers_, chunk_seconds, apart=apart
            )
            speedup = serial / chunked
            goal = 0.8 * workers_
            print(
                f"  {workers_:>2} workers: {chunks} chunks, {chunked / 60:6.1f} min vs "
                f"{serial / 60:6.1f} min serial: {speedup:5.2f}x   (goal >= {goal:.1f}: "
                f"{'met' if speedup >= goal else 'MISSED'})"
            )


# -- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        choices=["a", "b", "d", "e"],
        help="run only (a), only (b)+(c), only (d), or only (e)",
    )
    parser.add_argument(
        "--split-boundaries",
        type=int,
        default=Settings.model_fields["chunk_split_boundaries"].default,
        help="(b), (c), (e): boundaries per split job (REELFLOW_CHUNK_SPLIT_BOUNDARIES)",
    )
    parser.add_argument("--runs", type=int, default=2, help="interleaved runs (medians)")
    parser.add_argument("--tasks", type=int, default=2, help="(a): tasks a run")
    parser.add_argument("--a-duration", type=float, default=10.0, help="(a): clip seconds")
    parser.add_argument("--quick", action="store_true", help="(a): a 720p 4 s clip")
    parser.add_argument("--duration", type=float, default=180.0, help="(b): clip seconds")
    parser.add_argument("--scene-seconds", type=float, default=7.0, help="(b)")
    parser.add_argument("--chunk-seconds", type=float, default=30.0, help="(b)")
    parser.add_argument(
        "--model-chunk-seconds",
        type=float,
        default=Settings.model_fields["chunk_seconds"].default,
        help="(c): the chunk length of the model (default: the setting's default)",
    )
    parser.add_argument(
        "--first-pass", action="store_true", help="(b): REELFLOW_CHUNK_FIRST_PASS=true"
    )
    parser.add_argument(  # the default (one pass); kept for the commands in docs
        "--no-first-pass", action="store_true", help="(b): REELFLOW_CHUNK_FIRST_PASS=false"
    )
    parser.add_argument(
        "--no-rates", dest="rates", action="store_false",
        help="(b): REELFLOW_CHUNK_RATES=false (no difficulty probes)",
    )  # fmt: skip
    parser.add_argument(
        "--seek-by-time", action="store_true", help="(d): no keyframe seek (as before)"
    )
    parser.add_argument("--preset", default="", help="x264 preset (default: the setting's)")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false",
        help="(b): do not bind each worker to a CPU of its own",
    )  # fmt: skip
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="reelflow-chunked-bench-"))
    try:
        bucket = root / "bucket"
        bucket.mkdir()
        config = root / "reelflow.toml"
        config.write_text(f'[buckets.media]\nbackend = "local"\npath = "{bucket}"\n')
        preset = args.preset or Settings().video_preset
        env = {
            **os.environ,
            "REELFLOW_EXECUTOR": "celery",
            "REELFLOW_BROKER_URL": REDIS_URL,
            "REELFLOW_CONFIG": str(config),
            "REELFLOW_VIDEO_PRESET": preset,
        }
        base = Settings(
            data_dir=root / "bench",
            config=config,
            executor="celery",
            broker_url=REDIS_URL,
            video_preset=preset,  # type: ignore[arg-type]
        )
        load = os.getloadavg()[0]
        if args.only in (None, "a"):
            part_a(args, root, base, env)
        if args.only in (None, "b"):
            part_b(args, root, base, env)
        if args.only in (None, "d"):
            part_d(args, root, base)
        if args.only == "e":
            part_e(args, root, base)
        print(f"load average (1 min) before {load:.2f}, after {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
