"""``make bench-quality`` part (1): what quality scoring costs on the default workflow, and
how far the subsampled VMAF mean is from the full computation (issue 18).

On a generated clip (testsrc2 + sine, H.264/AAC MP4, made once into ``bench/out/``):

(a) ``reelflow process SRC -o TMP --json`` and (b) the same with ``--quality``, interleaved
    (a, b, a, b, ...): wall and CPU seconds (the process and its children), the ratio of
    medians b / a (target: at most 1.25 on wall time);
(c) the renditions of (a) scored by ``reelflow.media.quality`` with every frame (the
    reference), with the default (auto: about 50 frames scored per rendition) and at each
    subsampling of ``--subsample``: CPU seconds of the scoring process and the largest
    |mean - full mean| over the renditions (target: at most 0.5 VMAF at the default);
(d) the two shapes the scoring could take in a task: one process for all renditions (a
    step of the transcode job: the source decoded once) against one process per rendition
    (a stage of the task graph per rendition: the source decoded once per rendition; the
    stage's fetch, probe job and scheduling not even counted);
(e) where the scorers run, on the job's own FFmpeg commands (recorded from one
    ``reelflow process --quality`` run through a wrapper that logs them, then replayed,
    interleaved): the encode alone; the encode then one scoring process reading the written
    renditions (before: the source decoded again); the encode with the scorers in its own
    process (now: loopback decoders, the source's one decode shared). Wall and CPU medians.

Missed targets are reported, never asserted; a failing command stops the bench (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.media.probe import probe
from reelflow.media.quality import (
    AUTO,
    QualityOptions,
    Rendition,
    build_quality_command,
    score_renditions,
)
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.quality import QualityScore

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
FPS = 25
TARGET_RATIO = 1.25
TARGET_DELTA = 0.5


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of the children reaped meanwhile, result)."""
    wall, cpu = time.monotonic(), cpu_children()
    result = action()
    return time.monotonic() - wall, cpu_children() - cpu, result


def make_clip(ffmpeg: Path, width: int, height: int, duration: float) -> Path:
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"quality_src_{width}x{height}_{duration:g}s.mp4"
    if not path.exists():
        part = path.with_name("partial-" + path.name)
        subprocess.run(
            [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS}:duration={duration}",
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}",
             "-c:v", "libx264", "-preset", "fast", "-crf", "18", "-pix_fmt", "yuv420p",
             "-c:a", "aac", str(part)],
            check=True,
        )  # fmt: skip
        part.replace(path)
    return path


def run_process(src: Path, out: Path, quality: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "REELFLOW_VIDEO_PRESET"}
    argv = [sys.executable, "-m", "reelflow.cli.main", "process", str(src), "-o", str(out)]
    argv += ["--json", *(["--quality"] if quality else [])]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"reelflow process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def renditions_of(result: dict[str, Any], out: Path) -> list[Rendition]:
    """The MP4 renditions of a result.json, with their probed sizes."""
    found = []
    for item in result["MediaProcessResultSet"]:
        task = item.get("TranscodeTask")
        if task and task["Output"]:
            path = out / task["Output"]["Path"].lstrip("/")
            video = probe(str(path)).primary_video
            assert video is not None
            found.append(Rendition(path, video.width, video.height))
    return found


def overhead(src: Path, work: Path, runs: int) -> tuple[list[float], Path]:
    """(a) and (b), interleaved: medians of (a) [wall, CPU]; the outputs of (a)'s first run."""
    times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    kept: Path | None = None
    for run in range(runs):
        for quality in (False, True):
            out = work / f"{run}-{int(quality)}"
            wall, cpu, _ = timed(lambda o=out, q=quality: run_process(src, o, q))
            times[quality].append((wall, cpu))
            print(f"  (a{'+q' if quality else ''}) run {run}: {wall:.2f} s wall, {cpu:.2f} s CPU")
            if not quality and kept is None:
                kept = out
            else:
                shutil.rmtree(out)
    plain = [statistics.median(v[i] for v in times[False]) for i in (0, 1)]
    scored = [statistics.median(v[i] for v in times[True]) for i in (0, 1)]
    ratio = scored[0] / plain[0]
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"(a) process {plain[0]:.2f} s wall / {plain[1]:.2f} s CPU; (b) --quality "
        f"{scored[0]:.2f} s / {scored[1]:.2f} s: {ratio:.2f}x wall, "
        f"{scored[1] / plain[1]:.2f}x CPU (target <= {TARGET_RATIO}x wall: {verdict})"
    )
    assert kept is not None
    return plain, kept


def subsampling(
    runner: FFmpegRunner,
    src: Path,
    renditions: list[Rendition],
    work: Path,
    subsamples: list[int],
    cpu_a: float,
) -> None:
    """(c): every subsampling against the full computation."""
    info = probe(str(src))
    full: list[QualityScore] = []
    for sub in subsamples:
        opts = QualityOptions(subsample=sub)
        wall, cpu, scores = timed(
            lambda o=opts, s=sub: score_renditions(
                runner, str(src), info, renditions, work / f"q{s}", timeout=3600, options=o
            )
        )
        if sub == 1:
            full = scores
        delta = max(abs(a.vmaf.mean - b.vmaf.mean) for a, b in zip(scores, full, strict=True))
        used = sorted({s.subsample for s in scores})
        mark = f" (default: auto, used {used})" if sub == AUTO else ""
        verdict = "ok" if delta <= TARGET_DELTA else "MISSED"
        print(
            f"(c) subsample {sub:>2}{mark}: {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"({cpu / cpu_a:.2f} of (a)'s CPU); means "
            + ", ".join(f"{s.vmaf.mean:.2f}" for s in scores)
            + f"; max |delta| vs full {delta:.2f} ({verdict} for <= {TARGET_DELTA})"
        )


def shapes(runner: FFmpegRunner, src: Path, renditions: list[Rendition], work: Path) -> None:
    """(d): one scoring process for all renditions, or one per rendition."""
    info = probe(str(src))
    opts = QualityOptions()
    one = timed(
        lambda: score_renditions(
            runner, str(src), info, renditions, work / "one", timeout=3600, options=opts
        )
    )
    each = [
        timed(
            lambda r=r, i=i: score_renditions(
                runner, str(src), info, [r], work / f"each{i}", timeout=3600, options=opts
            )
        )
        for i, r in enumerate(renditions)
    ]
    each_wall, each_cpu = sum(e[0] for e in each), sum(e[1] for e in each)
    print(
        f"(d) one process for {len(renditions)} renditions: {one[0]:.2f} s wall, "
        f"{one[1]:.2f} s CPU; one per rendition: {each_wall:.2f} s wall, {each_cpu:.2f} s "
        f"CPU ({each_cpu / one[1]:.2f}x CPU)"
    )


def record_commands(ffmpeg: Path, src: Path, work: Path) -> list[list[str]]:
    """The FFmpeg argument lists of one ``reelflow process --quality`` run, in order, with
    the job's scratch folder replaced by ``work/job`` (created, outputs kept there)."""
    work.mkdir(parents=True)
    log = work / "commands.jsonl"
    wrapper = work / "ffmpeg-recorder"
    wrapper.write_text(
        "#!" + sys.executable + "\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f: f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"os.execv({str(ffmpeg)!r}, [{str(ffmpeg)!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "REELFLOW_VIDEO_PRESET"}
    env["REELFLOW_FFMPEG"] = str(wrapper)
    argv = [sys.executable, "-m", "reelflow.cli.main", "process", str(src), "-o"]
    subprocess.run([*argv, str(work / "rec"), "--json", "--quality"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    job = work / "job"
    (job / "quality").mkdir(parents=True)
    scratch = re.compile(r"(?:/[\w.-]+)*/\.?reelflow-process-[^/]+/scratch/[^/]+/[^/]+")
    commands = []
    for line in log.read_text().splitlines():
        args = json.loads(line)
        # From -y on: the runner's own options (progress on stdout, log level) left out.
        commands.append([scratch.sub(str(job), a) for a in args[args.index("-y") :]])
    return commands


def placement(ffmpeg: Path, src: Path, work: Path, runs: int) -> None:
    """(e): the scorers in the encode's process (loopback) or in a process after it."""
    commands = record_commands(ffmpeg, src, work)
    fused = next(c for c in commands if "-dec" in c)
    encode = fused[: fused.index("-dec")]
    job = work / "job"
    renditions = []
    # The renditions the fused command scores: its loopback decoders' output files.
    outputs = [a for a in encode if re.fullmatch(re.escape(str(job)) + r"/w\d+[._].*", a)]
    decs = [fused[i + 1] for i, a in enumerate(fused) if a == "-dec"]
    info = probe(str(src))
    for dec in decs:
        path = Path(outputs[int(dec.split(":")[0])])
        renditions.append(path)
    times: dict[str, list[tuple[float, float]]] = {"encode": [], "after": [], "inside": []}

    def run(args: list[str]) -> None:
        subprocess.run([str(ffmpeg), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                       check=True)  # fmt: skip

    run(encode)  # the renditions, to size them (untimed)
    found = [Rendition(p, *_size(p)) for p in renditions]
    after = build_quality_command(str(src), info, found, job / "quality").args
    for _ in range(runs):
        wall, cpu, _ = timed(lambda: run(encode))
        times["encode"].append((wall, cpu))
        wall2, cpu2, _ = timed(lambda: run(after))
        times["after"].append((wall + wall2, cpu + cpu2))
        times["inside"].append(timed(lambda: run(fused))[:2])
    med = {k: [statistics.median(v[i] for v in t) for i in (0, 1)] for k, t in times.items()}
    base = med["encode"]
    for key, label in (("after", "encode, then scoring"), ("inside", "encode with scoring")):
        wall, cpu = med[key]
        print(
            f"(e) {label}: {wall:.2f} s wall, {cpu:.2f} s CPU = {wall / base[0]:.2f}x wall, "
            f"{cpu / base[1]:.2f}x CPU of the encode alone ({base[0]:.2f} s / {base[1]:.2f} s)"
        )


def _size(path: Path) -> tuple[int, int]:
    video = probe(str(path)).primary_video
    assert video is not None
    return video.width, video.height


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="720p 4 s clip, 1 run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument(
        "--subsample", default="4,8,12,16", help="to compare; 1 (full) and 0 (auto) always run"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.width, args.height, args.duration = 1, 1280, 720, 4.0
    ffmpeg = find_ffmpeg(os.environ.get("REELFLOW_FFMPEG", ""))
    src = make_clip(ffmpeg, args.width, args.height, args.duration)
    load_before = os.getloadavg()[0]
    print(f"source {src.name}; {args.runs} run(s); load {load_before:.1f}")
    work = Path(tempfile.mkdtemp(prefix="quality-bench-", dir=OUT_DIR))
    try:
        plain, kept = overhead(src, work, args.runs)
        result = json.loads((kept / "result.json").read_text())
        renditions = renditions_of(result, kept)
        runner = FFmpegRunner(ffmpeg)
        others = {int(s) for s in args.subsample.split(",")} - {1, AUTO}
        subsamples = [1, AUTO, *sorted(others)]
        subsampling(runner, src, renditions, work, subsamples, plain[1])
        shapes(runner, src, renditions, work)
        placement(ffmpeg, src, work / "placement", args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
