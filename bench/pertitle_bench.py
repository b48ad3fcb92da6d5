"""``make bench-quality`` part (2): a per-title ladder against the fixed 4-rung ladder of the
same template (issue 18).

Three generated clips of different difficulty (near-static shapes and text, a moving test
pattern, the moving pattern under fresh noise; with a tone), made once into ``bench/out/``.
For each, two real jobs (``JobRuntime``, the product's path: one FFmpeg command for the
ladder, every rung scored on the full output, packaged and checked) on ladder preset 10
(``HLS-H264-4rung``: 360p 400k, 540p 1000k, 720p 1800k, 1080p 2500k):

(a) the fixed ladder, scored (``"quality": true``);
(b) the same template with ``"ladder": "auto"`` (target VMAF 93): the analysis before the
    encode, the rungs at the probes' CRF, a re-encode of a rung that misses its target;
(d) (``--equal-quality 1``, the default) the per-title ladder again, each rung aimed at
    the VMAF (a)'s same rung *achieved* (the top rung's target is the fixed top rung's
    score, each lower rung's aim its fixed rung's score instead of 6 below the rung above:
    ``choose_rungs(aims=...)``, a bench-only argument), re-encoded on a miss as (b);

and (c) the top fixed rung encoded alone (the same options as in the ladder). Printed per
rung: the measured average bitrate of the output (segments' bytes over the duration, from
the package) and the VMAF mean of both ladders; per clip the bits saved; and the analysis'
wall and CPU seconds against (c)'s.

Two comparisons of bits (docs/quality.md, "Benchmark"): **at target**, (b) against (a):
what a user of ``"ladder": "auto"`` saves, each side at its own quality (a starved fixed
ladder makes per-title spend more to reach 93); **at equal quality**, (d) against (a),
rung by rung, counting only the rungs where (d) scored at least (a)'s score minus 1 VMAF
(both sides' measured rates and scores; the rungs left out are named).

Goals (reported, never asserted): at least 20 % of bits saved averaged over the three
clips; no rung more than 1 VMAF under the fixed rung (read two ways, see docs/quality.md:
against the fixed rung's score, and against min(fixed rung's score, the rung's target));
the analysis at most 1.0x the top rung's encode (CPU seconds: the steadier figure on a
shared machine; wall printed too).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import reelflow.executors.jobs as jobs_module
from reelflow.executors import pertitle
from reelflow.executors.base import JobContext
from reelflow.executors.jobs import JobRuntime
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.media.ladder import build_ladder_command
from reelflow.media.pertitle import ProbeOptions
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.ladder import select_rungs
from reelflow.planner.pertitle import choose_rungs
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets.ladders import get_ladder_preset
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.outputs import AdaptiveStreamingResult
from reelflow.specs.pertitle import RatePoint, RungChoice
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.templates import TemplateKind
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
FPS = 25
PRESET_LADDER = 10
CUSTOM = 1_000_010
GOAL_SAVED = 20.0
GOAL_RATIO = 1.0

CLIPS = {
    "easy": "color=c=0x336699:size={s}:rate={r}:duration={d},"
    "drawbox=x=iw/8:y=ih/6:w=iw/3:h=ih/3:color=yellow:t=fill,"
    "drawbox=x='iw/2+t*8':y=ih/2:w=iw/5:h=ih/5:color=white:t=fill,"
    "drawtext=text='Quarterly results':x=w/16:y=h*3/4:fontsize=h/12:fontcolor=white",
    "moving": "testsrc2=size={s}:rate={r}:duration={d}",
    "noise": "testsrc2=size={s}:rate={r}:duration={d},noise=alls=20:allf=t+u",
}


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of the children reaped meanwhile, result)."""
    wall, cpu = time.monotonic(), cpu_children()
    result = action()
    return time.monotonic() - wall, cpu_children() - cpu, result


def make_clip(ffmpeg: Path, kind: str, width: int, height: int, duration: float) -> Path:
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"pertitle_{kind}_{width}x{height}_{duration:g}s.mp4"
    if not path.exists():
        part = path.with_name("partial-" + path.name)
        graph = CLIPS[kind].format(s=f"{width}x{height}", r=FPS, d=duration)
        subprocess.run(
            [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", graph,
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}",
             "-c:v", "libx264", "-preset", "fast", "-crf", "14", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-shortest", str(part)],
            check=True,
        )  # fmt: skip
        part.replace(path)
    return path


def run_job(
    ffmpeg: Path, src: Path, template: LadderTemplate, preset: str, scratch: Path
) -> AdaptiveStreamingResult:
    bucket = MemoryStorage("out")
    bucket.put_bytes("in/a.mp4", src.read_bytes())
    custom = MemoryLookup()
    custom.add(TemplateKind.ADAPTIVE, CUSTOM, template)
    request = TaskRequest.model_validate(
        {"source": {"type": "bucket", "bucket": "out", "key": "in/a.mp4"}, "quality": True,
         "media_process_task": {"adaptive_dynamic_streaming_task_set": [{"definition": CUSTOM}]}}
    )  # fmt: skip
    info = probe(src)
    specs = resolve_request(request, ChainLookup(PresetLookup(), custom))
    [planned] = DefaultPlanner().plan(specs, info, "a.mp4").jobs
    job = JobPayload(
        job_id="bench", task_id="bench", kind=JobKind.MEDIA,
        source=TaskSource(type="bucket", bucket="out", key="in/a.mp4"),
        media_info=info, works=planned.works, video_preset=preset, timeout=3600,
    )  # fmt: skip
    runtime = JobRuntime(ffmpeg, StorageRegistry([bucket]), scratch)
    result = runtime(job, JobContext(lambda _: None, threading.Event()))
    [outcome] = result.subtasks
    if not outcome.ok or not isinstance(outcome.output, AdaptiveStreamingResult):
        raise SystemExit(f"the ladder job failed: {outcome}")
    return outcome.output


def rungs_of(result: AdaptiveStreamingResult) -> list[dict[str, Any]]:
    """Per video rung, smallest first: size, measured average kbps, VMAF mean, per-title."""
    rates = {r.stream_info: r.average_bitrate / 1000 for r in result.renditions}
    return [
        {"si": q.stream_info, "size": f"{q.width}x{q.height}", "kbps": rates[q.stream_info],
         "vmaf": q.score.vmaf.mean, "pt": q.per_title}
        for q in sorted(result.quality, key=lambda q: q.stream_info)
    ]  # fmt: skip


def top_rung_alone(
    runner: FFmpegRunner, src: Path, template: LadderTemplate, preset: str, work: Path
) -> tuple[float, float]:
    info = probe(src)
    ladder = select_rungs(template, info, CUSTOM)
    top = max(ladder.video, key=lambda r: r.width * r.height)
    alone = ladder.model_copy(update={"video": [top], "audio": []})
    alone = alone.model_copy(update={"video": [top.model_copy(update={"audio_group": ""})]})
    raw = work / "top"
    raw.mkdir(parents=True, exist_ok=True)
    command = build_ladder_command(str(src), info, alone, raw, video_preset=preset)
    wall, cpu, _ = timed(lambda: runner.run(command.args, timeout=3600))
    return wall, cpu


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="720p 6 s clips, veryfast")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--preset", default="medium", help="the ladder's x264 preset")
    parser.add_argument("--clips", default="easy,moving,noise")
    parser.add_argument("--runs", type=int, default=1, help="timing repeats of (c)")
    parser.add_argument("--scenes", type=int, default=pertitle.PROBE_SCENES)
    parser.add_argument("--scene-seconds", type=float, default=pertitle.PROBE_SCENE_SECONDS)
    parser.add_argument("--probe-preset", default=pertitle.PROBE_PRESET)
    parser.add_argument("--crfs", default=",".join(map(str, pertitle.PROBE_CRFS)))
    parser.add_argument("--probe-subsample", type=int, default=pertitle.PROBE_SUBSAMPLE)
    parser.add_argument(
        "--skip-smallest",
        type=int,
        choices=(0, 1),
        default=int(pertitle.PROBE_SKIP_SMALLEST),
        help="1: the smallest rung size is not probed (4 sizes or more)",
    )
    parser.add_argument(
        "--probe-share",
        type=float,
        default=pertitle.PROBE_SHARE,
        help="probes' seconds at most this share of the title's (0: the whole analysis)",
    )
    parser.add_argument(
        "--equal-quality",
        type=int,
        choices=(0, 1),
        default=1,
        help="1: also run (d), each rung aimed at the fixed rung's achieved VMAF",
    )
    parser.add_argument(
        "--extend-crfs",
        default=",".join(map(str, pertitle.PROBE_EXTEND_CRFS)),
        help="CRFs probed when a size's cheapest probe still reaches the target ('' = none)",
    )
    args = parser.parse_args()
    if args.quick:
        args.width, args.height, args.duration, args.preset = 1280, 720, 6.0, "veryfast"
    return args


ANALYSIS: dict[str, tuple[float, float]] = {}
# (d)'s aims: the fixed ladder's achieved VMAF by stream_info; empty: the product's choice.
AIMS: dict[int, float] = {}


def install_probes(args: argparse.Namespace) -> None:
    """The analysis' probes as the flags say (the product's constants by default), and a
    timer around the analysis (wall, CPU) into ``ANALYSIS``."""
    pertitle.PROBE_SCENES = args.scenes
    pertitle.PROBE_SCENE_SECONDS = args.scene_seconds
    pertitle.PROBE_PRESET = args.probe_preset
    pertitle.PROBE_CRFS = tuple(int(c) for c in args.crfs.split(","))
    pertitle.PROBE_SUBSAMPLE = args.probe_subsample
    pertitle.PROBE_SKIP_SMALLEST = bool(args.skip_smallest)
    pertitle.PROBE_EXTEND_CRFS = tuple(int(c) for c in args.extend_crfs.split(",") if c)
    pertitle.PROBE_SHARE = args.probe_share
    real = pertitle.analyse_ladder

    def at_aims(points: list[RatePoint], rungs: Any, target: float) -> list[RungChoice]:
        return choose_rungs(points, rungs, target, aims=[AIMS[r.stream_info] for r in rungs])

    def analyse(*a: Any, **kw: Any) -> Any:
        if AIMS:
            kw["choose"] = at_aims
        wall, cpu, out = timed(lambda: real(*a, **kw))
        ANALYSIS["last"] = (wall, cpu)
        return out

    jobs_module.analyse_ladder = analyse  # type: ignore[assignment]


def probes_used(args: argparse.Namespace, src: Path, template: LadderTemplate) -> str:
    """The analysis' scenes and probed sizes for ``src`` (the product's rule, as the job
    applies it: ``fit_probes``)."""
    info = probe(src)
    rungs = list(select_rungs(template, info, CUSTOM).video)
    options = ProbeOptions(scenes=args.scenes, scene_seconds=args.scene_seconds,
                           crfs=tuple(int(c) for c in args.crfs.split(",")))  # fmt: skip
    fitted, sizes = pertitle.fit_probes(info.duration or 0.0, options, pertitle.probe_sizes(rungs))
    return (
        f"{fitted.scenes} x {fitted.scene_seconds:g} s scene(s) at "
        f"{', '.join(f'{h}p' for _, h in sizes)} x {len(fitted.crfs)} CRFs"
    )


def equal_quality(
    f_rungs: list[dict[str, Any]], e_rungs: list[dict[str, Any]]
) -> tuple[float, int, float]:
    """Prints (d) against (a) rung by rung; (bits saved % over the rungs where (d) scored
    at least (a)'s score - 1, NaN if none; how many; largest shortfall of (d) under (a))."""
    print("  equal quality (d): rung | fixed: kbps VMAF | per-title aimed at it: size kbps "
          "VMAF (predicted, re-encode) | saved | compared")  # fmt: skip
    spent = kept = 0.0
    compared = 0
    for f, e in zip(f_rungs, e_rungs, strict=True):
        pt = e["pt"]
        ok = e["vmaf"] >= f["vmaf"] - 1.0
        if ok:
            spent, kept, compared = spent + f["kbps"], kept + e["kbps"], compared + 1
        redo = f", re-encoded from {pt.first_vmaf}" if pt and pt.reencoded else ""
        redo += f", re-encode {pt.discarded_vmaf} not kept" if pt and pt.discarded_vmaf else ""
        print(
            f"  {f['si']} | {f['kbps']:.0f} {f['vmaf']:.2f} | {e['size']} {e['kbps']:.0f} "
            f"{e['vmaf']:.2f} ({pt.predicted_vmaf if pt else 0:.1f}{redo}) | "
            f"{100 * (1 - e['kbps'] / f['kbps']):.0f} % | "
            f"{'yes' if ok else 'no: more than 1 under'}"
        )
    saved = 100 * (1 - kept / spent) if compared else math.nan
    under = max(f["vmaf"] - e["vmaf"] for f, e in zip(f_rungs, e_rungs, strict=True))
    print(
        f"  bits saved at equal quality: {saved:.1f} % over {compared}/{len(f_rungs)} rungs "
        f"({spent:.0f} -> {kept:.0f} kbps summed); largest shortfall under the fixed rung "
        f"{under:.2f} VMAF"
    )
    return saved, compared, under


def bench_clip(
    args: argparse.Namespace, kind: str, ffmpeg: Path, templates: tuple[LadderTemplate, ...]
) -> dict[str, Any]:
    """One clip: prints its tables; returns its figures: bits saved at target (``share``),
    analysis / top rung CPU (``ratio``), per rung (per-title minus fixed VMAF,
    min(fixed, target) minus per-title VMAF) (``deltas``), and (d)'s ``equal`` figures
    (``equal_quality``) when run."""
    fixed, auto = templates
    src = make_clip(ffmpeg, kind, args.width, args.height, args.duration)
    with tempfile.TemporaryDirectory(prefix="pertitle-bench-") as tmp:
        work = Path(tmp)
        fw, fc, fixed_result = timed(lambda: run_job(ffmpeg, src, fixed, args.preset, work / "f"))
        aw, ac, auto_result = timed(lambda: run_job(ffmpeg, src, auto, args.preset, work / "a"))
        an_wall, an_cpu = ANALYSIS.pop("last", (0.0, 0.0))
        f_rungs = rungs_of(fixed_result)
        e_rungs = None
        if args.equal_quality:
            AIMS.update({r["si"]: r["vmaf"] for r in f_rungs})
            top = min(max(round(f_rungs[-1]["vmaf"], 2), 30.0), 100.0)
            at_fixed = auto.model_copy(update={"target_vmaf": top})
            try:
                e_result = run_job(ffmpeg, src, at_fixed, args.preset, work / "e")
            finally:
                AIMS.clear()
            e_rungs = rungs_of(e_result)
        runner = FFmpegRunner(ffmpeg)
        tops = [top_rung_alone(runner, src, fixed, args.preset, work) for _ in range(args.runs)]
    top_wall = statistics.median(t[0] for t in tops)
    top_cpu = statistics.median(t[1] for t in tops)
    a_rungs = rungs_of(auto_result)
    print(f"\n[{kind}] load average {os.getloadavg()[0]:.1f}; probes: "
          f"{probes_used(args, src, fixed)}; fixed job {fw:.1f} s wall / {fc:.1f} s CPU; "
          f"per-title job {aw:.1f} s / {ac:.1f} s")  # fmt: skip
    print("  at target (b): rung | fixed: size kbps VMAF | per-title: size kbps VMAF (target, "
          "predicted, re-encode) | saved | dVMAF")  # fmt: skip
    deltas = []
    for f, a in zip(f_rungs, a_rungs, strict=True):
        pt = a["pt"]
        target = pt.target_vmaf if pt else 0.0
        redo = f", re-encoded from {pt.first_vmaf}" if pt and pt.reencoded else ""
        redo += f", re-encode {pt.discarded_vmaf} not kept" if pt and pt.discarded_vmaf else ""
        d = a["vmaf"] - f["vmaf"]
        deltas.append((d, min(f["vmaf"], target) - a["vmaf"]))
        print(
            f"  {f['si']} | {f['size']} {f['kbps']:.0f} {f['vmaf']:.2f} | {a['size']} "
            f"{a['kbps']:.0f} {a['vmaf']:.2f} ({target:.1f}, "
            f"{pt.predicted_vmaf if pt else 0:.1f}{redo}) | "
            f"{100 * (1 - a['kbps'] / f['kbps']):.0f} % | {d:+.2f}"
        )
    total_f = sum(r["kbps"] for r in f_rungs)
    total_a = sum(r["kbps"] for r in a_rungs)
    share = 100 * (1 - total_a / total_f)
    ratio = an_cpu / top_cpu if top_cpu else float("inf")
    print(
        f"  ladder bits saved at target: {share:.1f} % ({total_f:.0f} -> {total_a:.0f} kbps "
        f"summed); analysis {an_wall:.1f} s wall / {an_cpu:.1f} s CPU, top rung alone "
        f"{top_wall:.1f} s / {top_cpu:.1f} s: {ratio:.2f}x CPU at {args.duration:g} s of "
        f"title, {an_wall / top_wall if top_wall else 0:.2f}x wall"
    )
    equal = equal_quality(f_rungs, e_rungs) if e_rungs is not None else None
    return {"share": share, "ratio": ratio, "deltas": deltas, "equal": equal}


def main() -> int:
    args = parse()
    install_probes(args)
    ffmpeg = find_ffmpeg()
    fixed = get_ladder_preset(PRESET_LADDER)
    assert fixed is not None
    auto = fixed.model_copy(update={"ladder": "auto"})
    print(
        f"per-title vs the fixed ladder {PRESET_LADDER}: {args.width}x{args.height} "
        f"{args.duration:g} s clips, ladder preset {args.preset}; probes: {args.scenes} x "
        f"{args.scene_seconds:g} s scenes, x264 {args.probe_preset} CRF {args.crfs}, "
        f"VMAF every {args.probe_subsample} frames, smallest size "
        f"{'not ' if args.skip_smallest else ''}probed, extension CRFs {args.extend_crfs or '-'}"
        f", at most {args.probe_share:g} x the title's seconds of probes (0: no cut); "
        f"load average {os.getloadavg()}"
    )
    results = [bench_clip(args, kind, ffmpeg, (fixed, auto)) for kind in args.clips.split(",")]
    mean_saved = statistics.mean(r["share"] for r in results)
    ratios = [r["ratio"] for r in results]
    under = max(-d for r in results for d, _ in r["deltas"])
    under_t = max(t for r in results for _, t in r["deltas"])
    print(
        f"\nbits saved at target, averaged over the clips: {mean_saved:.1f} % (goal >= "
        f"{GOAL_SAVED:g} %: {'ok' if mean_saved >= GOAL_SAVED else 'MISSED'})"
    )
    equal = [r["equal"] for r in results if r["equal"] is not None]
    if equal:
        saved = [e[0] for e in equal if not math.isnan(e[0])]
        mean_equal = statistics.mean(saved) if saved else math.nan
        each = ", ".join(f"{e[0]:.1f}" for e in equal)
        worst = max(e[2] for e in equal)
        print(
            f"bits saved at equal quality (each rung aimed at the fixed rung's score), "
            f"averaged over the clips: {mean_equal:.1f} % ({each}; rungs compared "
            f"{', '.join(str(e[1]) for e in equal)}; goal >= {GOAL_SAVED:g} %: "
            f"{'ok' if mean_equal >= GOAL_SAVED else 'MISSED'}); largest shortfall under the "
            f"fixed rung {worst:.2f} VMAF ({'ok' if worst <= 1 else 'MISSED'})"
        )
    print(
        f"largest shortfall of a per-title rung (at target) under the fixed rung: {under:.2f} "
        f"VMAF ({'ok' if under <= 1 else 'MISSED'}); under min(fixed rung, its target): "
        f"{under_t:.2f} ({'ok' if under_t <= 1 else 'MISSED'})"
    )
    print(
        f"analysis / top rung's encode (CPU) at {args.duration:g} s of title: "
        f"{', '.join(f'{r:.2f}' for r in ratios)} "
        f"(goal <= {GOAL_RATIO:g}x: {'ok' if max(ratios) <= GOAL_RATIO else 'MISSED'}); "
        f"load average {os.getloadavg()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
