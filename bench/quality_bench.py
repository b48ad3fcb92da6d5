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
(h) the worst moment's pictures on the default workflow's renditions, interleaved: the
    scorers (one process on the written renditions) without pictures; the same with the
    scored frames captured as JPEGs (now: the same branches as inside the encode); the
    seek-based drawing of each rendition's worst moment (one FFmpeg run per rendition, the
    way every picture was drawn before, and still the fallback). CPU medians: what the
    pictures cost captured against drawn by seeking.

``--parts`` picks the parts (default ``abcde``; (c) and (d) run (a)/(b) first, (h) only
when asked); ``--baseline DIR`` adds to (a)/(b) a third run per round, (b) with the
``src`` folder of another checkout (``PYTHONPATH=DIR``), so that before and after are
measured side by side, interleaved.

``--clips testsrc2,static,noise,cuts`` (with ``--durations`` and ``--scored-frames``) runs
instead, per generated clip of that kind and duration:

(f) the default workflow's renditions (``reelflow process``, once) scored with every frame;
    for each count k of ``--scored-frames``, the subsampled mean the auto rule would give
    with ``AUTO_SCORED_FRAMES = k`` (every n-th frame, n = frames // k capped at
    ``AUTO_MAX_SUBSAMPLE``, made odd: frames 0, n, 2n... of the full per-frame scores,
    which are the frames and scores a subsampled run gives; checked against a real
    subsampled run at the smallest k) and its largest |mean - full mean| over the
    renditions; then the product's rule on top: each rendition's 95 % interval (1.96
    standard errors of the subsampled mean), the denser subsampling ``refine_subsample``
    scores it again at when that is wider than 0.5 VMAF, the largest |mean - full mean|
    after, and the frames it adds;
(g) with ``--overhead``, the job's own FFmpeg commands (as in (e)) replayed interleaved:
    the encode alone, and the encode with its scorers at each count k: wall and CPU
    medians, the ratios to the encode alone, and the estimated whole-run CPU ratio
    1 + (extra CPU) / (CPU of ``reelflow process`` without scoring).

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
    AUTO_MAX_SUBSAMPLE,
    CONFIDENCE_Z,
    HALF_WIDTH,
    QualityOptions,
    Rendition,
    build_quality_command,
    read_scores,
    refine_subsample,
    score_renditions,
    standard_error,
)
from reelflow.media.quality_pictures import build_frames_command, captured_frames
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.quality import QualityScore, VmafScores

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


def _video_graph(kind: str, width: int, height: int, duration: float) -> str:
    """A generated clip's video as a filter graph ending at ``[v]``: ``testsrc2`` (moving
    test pattern), ``static`` (shapes and text, one small box moving), ``noise`` (testsrc2
    under strong temporal noise), ``cuts`` (four sources in turn: three hard scene cuts)."""
    size = f"size={width}x{height}:rate={FPS}"
    end = ",format=yuv420p,setsar=1"
    if kind == "testsrc2":
        return f"testsrc2={size}:duration={duration}{end}[v]"
    if kind == "noise":
        return f"testsrc2={size}:duration={duration},noise=alls=30:allf=t+u{end}[v]"
    if kind == "static":
        text = f"fontcolor=white:fontsize={height // 12}"
        return (
            f"color=c=0x1e2a38:{size}:duration={duration},"
            f"drawbox=x={width // 8}:y={height // 6}:w={width // 3}:h={height // 3}"
            ":color=0xd08040:t=fill,"
            f"drawbox=x={width // 2}:y={height // 2}:w={width // 4}:h={height // 4}"
            ":color=white:t=8,"
            f"drawbox=x='mod(t*40\\,{width // 2})':y={height * 7 // 8}:w=40:h=40"
            ":color=yellow:t=fill,"
            f"drawtext=text='Quarterly results':{text}:x={width // 10}:y={height * 3 // 4},"
            f"drawtext=text='reelflow':{text}:x={width * 6 // 10}:y={height // 10}{end}[v]"
        )
    if kind == "cuts":
        part = duration / 4
        sources = [
            f"testsrc2={size}:duration={part}",
            f"mandelbrot={size}:maxiter=256,trim=duration={part}",
            f"smptehdbars={size}:duration={part}",
            f"cellauto={size}:rule=30,trim=duration={part}",
        ]
        chains = [f"{src}{end}[p{i}]" for i, src in enumerate(sources)]
        return ";".join(chains) + ";[p0][p1][p2][p3]concat=n=4:v=1:a=0[v]"
    raise SystemExit(f"unknown clip kind {kind!r}: testsrc2, static, noise or cuts")


def make_kind_clip(ffmpeg: Path, kind: str, width: int, height: int, duration: float) -> Path:
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"quality_{kind}_{width}x{height}_{duration:g}s.mp4"
    if not path.exists():
        part = path.with_name("partial-" + path.name)
        subprocess.run(
            [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}",
             "-filter_complex", _video_graph(kind, width, height, duration),
             "-map", "[v]", "-map", "0:a",
             "-c:v", "libx264", "-preset", "fast", "-crf", "18",
             "-c:a", "aac", str(part)],
            check=True,
        )  # fmt: skip
        part.replace(path)
    return path


def run_process(src: Path, out: Path, quality: bool, code: str = "") -> dict[str, Any]:
    """``reelflow process`` (``code``: another ``src`` folder to run it from)."""
    env = {k: v for k, v in os.environ.items() if k != "REELFLOW_VIDEO_PRESET"}
    if code:
        env["PYTHONPATH"] = code
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


def overhead(src: Path, work: Path, runs: int, baseline: str = "") -> tuple[list[float], Path]:
    """(a) and (b), interleaved (and (b) with ``baseline``'s code): medians of (a) [wall,
    CPU]; the outputs of (a)'s first run."""
    kinds = [("a", False, ""), *([("b'", True, baseline)] if baseline else []), ("b", True, "")]
    times: dict[str, list[tuple[float, float]]] = {k: [] for k, _, _ in kinds}
    kept: Path | None = None
    for run in range(runs):
        for kind, quality, code in kinds:
            out = work / f"{run}-{kind}"
            wall, cpu, _ = timed(lambda o=out, q=quality, c=code: run_process(src, o, q, c))
            times[kind].append((wall, cpu))
            load = os.getloadavg()[0]
            print(f"  ({kind}) run {run}: {wall:.2f} s wall, {cpu:.2f} s CPU (load {load:.1f})")
            if kind == "a" and kept is None:
                kept = out
            else:
                shutil.rmtree(out)
    med = {k: [statistics.median(v[i] for v in t) for i in (0, 1)] for k, t in times.items()}
    plain = med["a"]
    print(f"(a) process {plain[0]:.2f} s wall / {plain[1]:.2f} s CPU")
    for kind, _, code in kinds[1:]:
        scored = med[kind]
        ratio = scored[0] / plain[0]
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"({kind}) --quality{' with ' + code if code else ''} {scored[0]:.2f} s / "
            f"{scored[1]:.2f} s: {ratio:.2f}x wall, {scored[1] / plain[1]:.2f}x CPU "
            f"(target <= {TARGET_RATIO}x wall: {verdict})"
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


def pictures(ffmpeg: Path, src: Path, renditions: list[Rendition], work: Path, runs: int) -> None:
    """(h): the worst moment's pictures captured by the scoring run, or drawn by seeking.

    The scorers run on the written renditions (``build_quality_command``, a process of its
    own: a third of the encode's CPU, so the captures' share is read with less noise); the
    captures are the same branches, on the same frames, as inside the encode's process."""
    info = probe(str(src))

    def run(args: list[str]) -> None:
        subprocess.run([str(ffmpeg), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                       check=True)  # fmt: skip

    times: dict[str, list[float]] = {"bare": [], "captured": [], "seek": []}
    captured = 0
    for n in range(runs):
        folder = work / f"h{n}"
        frames = folder / "frames"
        frames.mkdir(parents=True)
        (folder / "bare").mkdir()
        bare = build_quality_command(str(src), info, renditions, folder / "bare")
        times["bare"].append(timed(lambda b=bare: run(b.args))[1])
        scoring = build_quality_command(str(src), info, renditions, folder, capture=frames)
        times["captured"].append(timed(lambda c=scoring: run(c.args))[1])
        scores = read_scores(scoring)
        worst = [s.worst.time for s in scores if s.worst is not None]
        count = sum(1 for _ in frames.iterdir())
        size = sum(p.stat().st_size for p in frames.iterdir())
        seek = 0.0
        captured = 0
        found = zip(renditions, scores, scoring.logs, strict=True)
        for i, (rendition, score, logs) in enumerate(found):
            assert score.worst is not None
            out = (folder / f"seek{i}.jpg", folder / f"seek{i}-source.jpg")
            args = build_frames_command(str(src), info, rendition, score.worst.time, out)
            seek += timed(lambda a=args: run(a))[1]
            pair = (folder / f"worst{i}.jpg", folder / f"worst{i}-source.jpg")
            captured += captured_frames(logs.capture, logs.rate, score.worst.time, pair) is not None
        times["seek"].append(seek)
        print(f"  (h) run {n}: scorers {times['bare'][-1]:.2f} s CPU, with captures "
              f"{times['captured'][-1]:.2f} s ({count} JPEGs, {size / 1e6:.1f} MB), seeks "
              f"{seek:.2f} s (worst at {worst} s; load {os.getloadavg()[0]:.1f})")  # fmt: skip
        shutil.rmtree(folder)
    med = {k: statistics.median(v) for k, v in times.items()}
    extra = med["captured"] - med["bare"]
    ratio = f"scorers {med['bare']:.2f} -> {med['captured']:.2f} s"
    print(
        f"(h) pictures of {len(renditions)} renditions: captured {extra:.2f} s CPU ({ratio}), "
        f"drawn by seeking {med['seek']:.2f} s CPU; worst frames captured: {captured} of "
        f"{len(renditions)}"
    )


def _count_subsample(frames: int, count: int) -> int:
    """The auto rule (``auto_subsample``: n odd) with ``AUTO_SCORED_FRAMES = count``."""
    n = max(1, min(AUTO_MAX_SUBSAMPLE, frames // count))
    if n % 2 == 0:
        n += 1 if n < AUTO_MAX_SUBSAMPLE else -1
    return n


def frame_counts(
    runner: FFmpegRunner,
    src: Path,
    renditions: list[Rendition],
    work: Path,
    counts: list[int],
) -> dict[int, float]:
    """(f): the largest |subsampled - full| VMAF mean over the renditions, per count."""
    info = probe(str(src))
    wall, cpu, full = timed(
        lambda: score_renditions(
            runner, str(src), info, renditions, work / "full", timeout=7200,
            options=QualityOptions(subsample=1),
        )
    )  # fmt: skip
    per_frame = []
    for i in range(len(renditions)):
        data = json.loads((work / "full" / f"quality{i}.json").read_text())
        per_frame.append([float(f["metrics"]["vmaf"]) for f in data["frames"]])
    (OUT_DIR / f"vmaf-frames-{src.stem}.json").write_text(json.dumps(per_frame))
    print(
        f"(f) full: {wall:.1f} s wall, {cpu:.1f} s CPU; frames "
        + ", ".join(str(len(f)) for f in per_frame)
        + "; means "
        + ", ".join(f"{s.vmaf.mean:.2f}" for s in full)
    )
    deltas: dict[int, float] = {}
    for count in sorted(counts):
        subs = [_count_subsample(len(f), count) for f in per_frame]
        means = [statistics.fmean(f[::n]) for f, n in zip(per_frame, subs, strict=True)]
        delta = max(abs(m - s.vmaf.mean) for m, s in zip(means, full, strict=True))
        deltas[count] = delta
        scored = sorted({len(f[::n]) for f, n in zip(per_frame, subs, strict=True)})
        check = ""
        if count == min(counts):  # the same frames and scores as a subsampled run?
            real = [
                score_renditions(
                    runner, str(src), info, [r], work / f"n{n}-{i}", timeout=3600,
                    options=QualityOptions(subsample=n),
                )[0].vmaf.mean
                for i, (r, n) in enumerate(zip(renditions, subs, strict=True))
            ]  # fmt: skip
            gap = max(abs(a - b) for a, b in zip(real, means, strict=True))
            check = f"; a real subsampled run: means within {gap:.3f} of these"
        # The same n started at every other frame of the first n: how much of the error is
        # the luck of where the scored frames fall (the content's phase).
        phases = max(
            abs(statistics.fmean(f[o::n]) - s.vmaf.mean)
            for f, n, s in zip(per_frame, subs, full, strict=True)
            for o in range(n)
        )
        verdict = "ok" if delta <= TARGET_DELTA else "MISSED"
        print(
            f"(f) {count:>3} frames (n = {sorted(set(subs))}, {scored} scored): max |delta| "
            f"{delta:.2f} ({verdict} for <= {TARGET_DELTA}); over every phase of n "
            f"{phases:.2f}{check}"
        )
        # The product's rule: a score whose 95 % interval is wider than HALF_WIDTH is
        # scored again, denser (refine_subsample); its mean then replaces the first.
        widths, final, extra = [], [], 0
        for f, n, s in zip(per_frame, subs, full, strict=True):
            err = standard_error(f[::n], n)
            widths.append(CONFIDENCE_Z * err)
            first = QualityScore(
                model="", subsample=n, frames=len(f[::n]), psnr_mean=0, ssim_mean=0,
                vmaf=VmafScores(mean=0, harmonic_mean=0, min=0, p1=0, std_err=err),
            )  # fmt: skip
            dense = refine_subsample(first) or n
            extra += len(f[::dense]) if dense != n else 0
            final.append((dense, abs(statistics.fmean(f[::dense]) - s.vmaf.mean)))
        worst = max(e for _, e in final)
        print(
            f"(f) {count:>3} frames, then refined where the 95 % interval is over "
            f"{HALF_WIDTH}: intervals +/- "
            + ", ".join(f"{w:.2f}" for w in widths)
            + "; every n-th after: "
            + ", ".join(str(d) for d, _ in final)
            + f"; max |delta| {worst:.2f} ({'ok' if worst <= TARGET_DELTA else 'MISSED'}); "
            f"{extra} more frames scored ({extra / sum(len(f) for f in per_frame):.2f} of all)"
        )
        deltas[-count] = worst
    return deltas


def count_overhead(
    ffmpeg: Path, src: Path, work: Path, runs: int, counts: list[int], process_cpu: float
) -> dict[int, tuple[float, float, float]]:
    """(g): the encode alone and with its scorers at each count, the job's own commands
    replayed interleaved. Per count: (wall ratio, CPU ratio, whole-run CPU ratio)."""
    commands = record_commands(ffmpeg, src, work)
    fused = next(c for c in commands if "-dec" in c)
    encode = fused[: fused.index("-dec")]
    graph_at = fused.index("-filter_complex", fused.index("-dec"))
    frames = round(probe(str(src)).duration * FPS)
    triplet = re.compile(r"mod\(n\+1\\,\d+\)")
    variants: dict[int, list[str]] = {}
    for count in counts:
        n = _count_subsample(frames, count)
        if n <= 3:
            print(f"(g) {count} frames: n = {n}, left to libvmaf: not replayed")
            continue
        args = list(fused)
        args[graph_at + 1], found = triplet.subn(f"mod(n+1\\\\,{n})", args[graph_at + 1])
        assert found, "no triplet selection in the recorded scoring graph"
        variants[count] = args

    def run(args: list[str]) -> None:
        subprocess.run([str(ffmpeg), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                       check=True)  # fmt: skip

    times: dict[int, list[tuple[float, float]]] = {0: [], **{k: [] for k in variants}}
    for r in range(runs):
        times[0].append(timed(lambda: run(encode))[:2])
        for count, args in variants.items():
            times[count].append(timed(lambda a=args: run(a))[:2])
        print(f"  (g) run {r}: encode {times[0][-1][0]:.1f} s wall / {times[0][-1][1]:.1f} s CPU; "
              + ", ".join(f"{k}: {t[-1][0]:.1f} / {t[-1][1]:.1f}" for k, t in times.items() if k)
              + f"; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    med = {k: [statistics.median(v[i] for v in t) for i in (0, 1)] for k, t in times.items()}
    base = med.pop(0)
    found = {}
    for count, (wall, cpu) in med.items():
        whole = 1 + (cpu - base[1]) / process_cpu
        found[count] = (wall / base[0], cpu / base[1], whole)
        print(
            f"(g) {count:>3} frames: encode with scoring {wall:.1f} s wall, {cpu:.1f} s CPU = "
            f"{wall / base[0]:.2f}x wall, {cpu / base[1]:.2f}x CPU of the encode alone "
            f"({base[0]:.1f} s / {base[1]:.1f} s); whole run ~{whole:.2f}x CPU"
        )
    return found


def clips(ffmpeg: Path, args: argparse.Namespace, work: Path) -> None:
    """(f) and (g) over ``--clips`` x ``--durations``, then one summary table."""
    runner = FFmpegRunner(ffmpeg)
    counts = sorted({int(c) for c in args.scored_frames.split(",")})
    rows = []
    for kind in args.clips.split(","):
        for duration in (float(d) for d in args.durations.split(",")):
            src = make_kind_clip(ffmpeg, kind, args.width, args.height, duration)
            here = work / f"{kind}-{duration:g}"
            print(f"== {src.name}; load {os.getloadavg()[0]:.1f}")
            wall, cpu, result = timed(lambda s=src, h=here: run_process(s, h / "out", False))
            print(f"(a) process {wall:.1f} s wall, {cpu:.1f} s CPU")
            renditions = renditions_of(result, here / "out")
            deltas = {} if args.no_errors else frame_counts(runner, src, renditions, here, counts)
            cost = {}
            if args.overhead:
                cost = count_overhead(ffmpeg, src, here / "g", args.runs, counts, cpu)
            rows.append((f"{kind} {duration:g} s", deltas, cost))
            shutil.rmtree(here, ignore_errors=True)
    print("| clip | " + " | ".join(f"{k} frames" for k in counts) + " |")
    print("| --- |" + " --- |" * len(counts))
    for name, deltas, cost in rows:
        cells = []
        for k in counts:
            cell = f"{deltas[k]:.2f}" if k in deltas else "-"
            if -k in deltas:
                cell += f" (refined: {deltas[-k]:.2f})"
            if k in cost:
                cell += " ({:.2f}x wall, {:.2f}x CPU; run ~{:.2f}x)".format(*cost[k])
            cells.append(cell)
        print(f"| {name} | " + " | ".join(cells) + " |")


def _size(path: Path) -> tuple[int, int]:
    video = probe(str(path)).primary_video
    assert video is not None
    return video.width, video.height


def part_one(args: argparse.Namespace, ffmpeg: Path, src: Path, work: Path) -> None:
    """The parts of ``--parts`` on the default workflow's clip ``src``."""
    parts = set(args.parts)
    renditions: list[Rendition] = []
    if parts & set("abcd"):
        plain, kept = overhead(src, work, args.runs, args.baseline)
        renditions = renditions_of(json.loads((kept / "result.json").read_text()), kept)
        runner = FFmpegRunner(ffmpeg)
        others = {int(s) for s in args.subsample.split(",")} - {1, AUTO}
        if "c" in parts:
            subsamples = [1, AUTO, *sorted(others)]
            subsampling(runner, src, renditions, work, subsamples, plain[1])
        if "d" in parts:
            shapes(runner, src, renditions, work)
    if "e" in parts:
        placement(ffmpeg, src, work / "placement", args.runs)
    if "h" in parts:
        if not renditions:  # the default workflow's renditions, written once
            result = run_process(src, work / "plain", quality=False)
            renditions = renditions_of(result, work / "plain")
        pictures(ffmpeg, src, renditions, work / "pictures", args.runs)


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
    parser.add_argument("--clips", default="", help="e.g. testsrc2,static,noise,cuts: (f)/(g)")
    parser.add_argument("--durations", default="10,20", help="with --clips, seconds")
    parser.add_argument("--scored-frames", default="20,25,30,40,50", help="with --clips")
    parser.add_argument("--overhead", action="store_true", help="with --clips: (g) too")
    parser.add_argument("--no-errors", action="store_true", help="with --clips: no (f)")
    parser.add_argument("--parts", default="abcde", help="of a, b, c, d, e, h: which to run")
    parser.add_argument("--baseline", default="", help="(b) also with this src folder's code")
    args = parser.parse_args()
    if args.clips:
        ffmpeg = find_ffmpeg(os.environ.get("REELFLOW_FFMPEG", ""))
        load = os.getloadavg()
        OUT_DIR.mkdir(exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="quality-bench-", dir=OUT_DIR))
        try:
            clips(ffmpeg, args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"load averages {load} before, {os.getloadavg()} after")
        return 0
    if args.quick:
        args.runs, args.width, args.height, args.duration = 1, 1280, 720, 4.0
    ffmpeg = find_ffmpeg(os.environ.get("REELFLOW_FFMPEG", ""))
    src = make_clip(ffmpeg, args.width, args.height, args.duration)
    load_before = os.getloadavg()[0]
    print(f"source {src.name}; {args.runs} run(s); load {load_before:.1f}")
    work = Path(tempfile.mkdtemp(prefix="quality-bench-", dir=OUT_DIR))
    try:
        part_one(args, ffmpeg, src, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
