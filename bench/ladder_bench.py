"""Adaptive ladder bench: reelflow's ladder packaging against FFmpeg yardsticks.

On the 1080p lavfi clip of ``process_bench`` (testsrc2 + sine, made once into ``bench/out/``)
it times the 4-rung H.264/AAC HLS ladder of preset 10 (360/540/720/1080p at 400/1000/1800/2500
kbps, AAC 64 kbps for the low rungs and 128 kbps for the high ones, 6 s TS segments), side by
side and interleaved (a, b, c, a, b, c, ...):

(a) naive: one FFmpeg process per rendition (decode, scale, encode video and its audio into an
    MP4), then one more that packages the four MP4 files into HLS by stream copy;
(b) the best single FFmpeg command written by hand: one decode, ``split`` + ``scale`` per
    rung, audio encoded once per bitrate, the ``hls`` muxer with ``var_stream_map``;
(c) reelflow: ``select_rungs`` + ``package_ladder`` in this process (the FFmpeg run, reading
    every segment back and rewriting the manifests), as a worker runs it.

Every method must leave a master playlist and four video renditions, else the bench stops
with exit code 1. Targets (issue 17) are reported met/MISSED, never asserted: (c)/(b) <= 1.05
and (c)/(a) <= 0.70 on wall time. ``--storage`` also packages CMAF, HLS and DASH once each
and compares their sizes (one CMAF package against separate HLS + DASH packages: ~0.5x).
``--task`` also times the ladder inside a task (the default workflow's renditions,
screenshots, sprite and GIF plus preset 10), as the executor runs it: (d) one FFmpeg command
for every sub-task, the ladder a branch of the shared decode, against (e) the other sub-tasks'
command then the ladder in its own FFmpeg process (two decodes).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import m3u8
from process_bench import (
    BENCH_DIR,
    FFMPEG_QUIET,
    FPS,
    MIB,
    OUT_DIR,
    RSS_UNIT,
    BenchError,
    Clip,
    Measure,
    Results,
    make_clip,
    note,
    run,
)

from reelflow.config import Settings
from reelflow.errors import ReelflowError
from reelflow.media.command import build_command
from reelflow.media.ffmpeg import ffmpeg_version, find_ffmpeg
from reelflow.media.ladder import package_ladder, publish_ladder
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.ladder import select_rungs
from reelflow.planner.plan import build_plan
from reelflow.planner.resolve import resolve_request
from reelflow.presets.default_workflow import default_media_process_task
from reelflow.presets.ladders import DASH_LADDER, HLS_LADDER, get_ladder_preset
from reelflow.presets.lookup import PresetLookup
from reelflow.specs.ladders import LadderFormat, LadderTemplate
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.tasks import AdaptiveDynamicStreamingTaskInput
from reelflow.specs.works import LadderWork, Work

SEGMENT = 6
# Preset 10 written out by hand: short side, video kbps, audio kbps.
RUNGS = ((360, 400, 64), (540, 1000, 64), (720, 1800, 128), (1080, 2500, 128))
AUDIO_KBPS = (64, 128)
TARGET_VS_HAND = 1.05
TARGET_VS_NAIVE = 0.70
NAIVE, HAND, REELFLOW = "naive", "hand", "reelflow"
FUSED, APART = "task-fused", "task-apart"


def width_of(short: int, clip: Clip) -> int:
    return round(clip.width * short / clip.height / 2) * 2


def x264(kbps: int, preset: str, s: str = "") -> list[str]:
    return [
        f"-c:v{s}", "libx264", f"-preset{s}", preset, f"-profile:v{s}", "high",
        f"-b:v{s}", f"{kbps}k", f"-maxrate:v{s}", f"{kbps * 3 // 2}k",
        f"-bufsize:v{s}", f"{kbps * 2}k", f"-g:v{s}", str(SEGMENT * FPS),
        f"-sc_threshold:v{s}", "0", f"-x264-params:v{s}", "open_gop=0",
        f"-force_key_frames:v{s}", f"expr:gte(t,n_forced*{SEGMENT})",
    ]  # fmt: skip


def hls_muxer(out: Path, var_stream_map: str) -> list[str]:
    return [
        "-f", "hls", "-hls_time", str(SEGMENT), "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-master_pl_name", "master.m3u8",
        "-var_stream_map", var_stream_map,
        "-hls_segment_filename", str(out / "s%v_%d.ts"), str(out / "p%v.m3u8"),
    ]  # fmt: skip


def group_of(audio_kbps: int) -> str:
    return f"a{audio_kbps}"


def stream_map() -> str:
    videos = [f"v:{i},agroup:{group_of(a)}" for i, (_, _, a) in enumerate(RUNGS)]
    audios = [f"a:{j},agroup:{group_of(a)}" for j, a in enumerate(AUDIO_KBPS)]
    return " ".join(videos + audios)


def hand_argv(ffmpeg: Path, clip: Clip, out: Path, preset: str) -> list[str]:
    """The best single command a person would write for the ladder."""
    n = len(RUNGS)
    graph = [f"[0:v:0]fps={FPS},split={n}" + "".join(f"[b{i}]" for i in range(n))]
    argv = [str(ffmpeg), *FFMPEG_QUIET, "-i", str(clip.path)]
    maps: list[str] = []
    codecs: list[str] = []
    for i, (short, kbps, _) in enumerate(RUNGS):
        graph.append(f"[b{i}]scale={width_of(short, clip)}:{short},setsar=1[v{i}]")
        maps += ["-map", f"[v{i}]"]
        codecs += x264(kbps, preset, f":{i}")
    for j, kbps in enumerate(AUDIO_KBPS):
        maps += ["-map", "0:a:0"]
        codecs += [f"-c:a:{j}", "aac", f"-b:a:{j}", f"{kbps}k", f"-ar:a:{j}", "44100"]
        codecs += [f"-ac:a:{j}", "2"]
    argv += ["-filter_complex", ";".join(graph), *maps, *codecs]
    return argv + hls_muxer(out, stream_map())


def naive_steps(ffmpeg: Path, clip: Clip, out: Path, preset: str) -> list[list[str]]:
    """One FFmpeg per rendition (each with its own audio), then stream-copy packaging."""
    steps = []
    for i, (short, kbps, audio) in enumerate(RUNGS):
        argv = [str(ffmpeg), *FFMPEG_QUIET, "-i", str(clip.path)]
        argv += ["-vf", f"fps={FPS},scale={width_of(short, clip)}:{short},setsar=1"]
        argv += [*x264(kbps, preset), "-c:a", "aac", "-b:a", f"{audio}k", "-ar", "44100"]
        argv += ["-ac", "2", "-f", "mp4", str(out / f"r{i}.mp4")]
        steps.append(argv)
    package = [str(ffmpeg), *FFMPEG_QUIET]
    for i in range(len(RUNGS)):
        package += ["-i", str(out / f"r{i}.mp4")]
    for i in range(len(RUNGS)):
        package += ["-map", f"{i}:v:0"]
    for kbps in AUDIO_KBPS:  # the audio of the first rung that has this bitrate
        first = next(i for i, (_, _, a) in enumerate(RUNGS) if a == kbps)
        package += ["-map", f"{first}:a:0"]
    steps.append([*package, "-c", "copy", *hls_muxer(out, stream_map())])
    return steps


def check_hls(out: Path, master: str, what: str) -> None:
    path = out / master
    if not path.exists():
        raise BenchError(f"{what}: no master playlist {master}")
    variants = [p for p in m3u8.load(str(path)).playlists if p.stream_info.resolution]
    heights = sorted(p.stream_info.resolution[1] for p in variants)
    if heights != [short for short, _, _ in RUNGS]:
        raise BenchError(f"{what}: video renditions {heights}, expected 360/540/720/1080")
    for variant in variants:
        if not m3u8.load(str(out / variant.uri)).segments:
            raise BenchError(f"{what}: {variant.uri} lists no segment")


class Bench:
    def __init__(self, ffmpeg: Path, clip: Clip, preset: str) -> None:
        self.ffmpeg = ffmpeg
        self.clip = clip
        self.preset = preset
        self.results = Results()
        self.info = probe(clip.path)
        self.load = (os.getloadavg()[0], 0.0)

    def fresh_dir(self, method: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"ladder-{method}-", dir=OUT_DIR))

    def naive(self) -> Measure:
        out = self.fresh_dir(NAIVE)
        try:
            started = time.perf_counter()
            parts = [
                run(argv, f"(a) naive step {i}")
                for i, argv in enumerate(naive_steps(self.ffmpeg, self.clip, out, self.preset))
            ]
            total = Measure.combine(parts, time.perf_counter() - started)
            check_hls(out, "master.m3u8", "(a) naive")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return total

    def hand(self) -> Measure:
        out = self.fresh_dir(HAND)
        try:
            m = run(hand_argv(self.ffmpeg, self.clip, out, self.preset), "(b) hand-written")
            check_hls(out, "master.m3u8", "(b) hand-written")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return m

    def package(self, template: LadderTemplate, out: Path) -> tuple[Measure, int]:
        """reelflow in this process; CPU = this process's and its children's."""
        ladder = select_rungs(template, self.info)
        before_self = resource.getrusage(resource.RUSAGE_SELF)
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        package = package_ladder(
            FFmpegRunner(self.ffmpeg),
            str(self.clip.path),
            self.info,
            ladder,
            out,
            video_preset=self.preset,
            timeout=3600,
        )
        wall = time.perf_counter() - started
        after_self = resource.getrusage(resource.RUSAGE_SELF)
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(
            getattr(after, f) - getattr(before, f)
            for before, after in ((before_self, after_self), (before_children, after_children))
            for f in ("ru_utime", "ru_stime")
        )
        rss = after_children.ru_maxrss * RSS_UNIT / MIB
        return Measure(wall, cpu, rss), package.total_size

    def reelflow(self) -> Measure:
        out = self.fresh_dir(REELFLOW)
        try:
            template = get_ladder_preset(HLS_LADDER)
            assert template is not None
            m, _ = self.package(template, out / "pkg")
            check_hls(out / "pkg", "master.m3u8", "(c) reelflow")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return m

    def round(self, number: int, runs: int) -> None:
        methods: list[tuple[str, Callable[[], Measure]]] = [
            (NAIVE, self.naive),
            (HAND, self.hand),
            (REELFLOW, self.reelflow),
        ]
        for name, method in methods:
            m = method()
            self.results.add(name, m)
            note(f"run {number}/{runs} {name:8} {m.wall:8.2f} s wall, {m.cpu:8.2f} s CPU")

    def task_works(self) -> list[Work]:
        """The works of one job: the default workflow's sub-tasks and the ladder preset 10."""
        mpt = default_media_process_task(self.info).model_copy(
            update={
                "adaptive_dynamic_streaming_task_set": [
                    AdaptiveDynamicStreamingTaskInput(definition=HLS_LADDER)
                ]
            }
        )
        request = TaskRequest(
            source=TaskSource(type="file", path=str(self.clip.path)),
            media_process_task=mpt,
            output_bucket="bench",
        )
        specs = resolve_request(request, PresetLookup())
        [job] = build_plan(specs, self.info, self.clip.path.name).jobs
        return list(job.works)

    def timed(self, step: Callable[[], None]) -> Measure:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        step()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
        return Measure(wall, cpu, after.ru_maxrss * RSS_UNIT / MIB)

    def task(self, fused: bool) -> Measure:
        """The job's FFmpeg work: (d) one command, or (e) the ladder in its own process."""
        works = self.task_works()
        out = self.fresh_dir(FUSED if fused else APART)
        runner = FFmpegRunner(self.ffmpeg)
        src = str(self.clip.path)

        def step() -> None:
            ladders = [w for w in works if isinstance(w, LadderWork)]
            together = works if fused else [w for w in works if not isinstance(w, LadderWork)]
            command = build_command(src, self.info, together, out, video_preset=self.preset)
            for raw in command.ladders.values():
                raw.raw_dir.mkdir(parents=True)
            runner.run(command.args, timeout=3600)
            for work in ladders:
                package_dir = out / f"ladder{work.index}"
                if fused:
                    publish_ladder(command.ladders[work.index], work.ladder, package_dir)
                else:
                    package_ladder(
                        runner, src, self.info, work.ladder, package_dir,
                        video_preset=self.preset, timeout=3600,
                    )  # fmt: skip
                check_hls(package_dir, "master.m3u8", f"({'d' if fused else 'e'}) task")

        try:
            return self.timed(step)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def task_round(self, number: int, runs: int) -> None:
        for name, fused in ((FUSED, True), (APART, False)):
            m = self.task(fused)
            self.results.add(name, m)
            note(f"run {number}/{runs} {name:10} {m.wall:8.2f} s wall, {m.cpu:8.2f} s CPU")

    def storage(self) -> dict[str, int]:
        """Total bytes of one package per format (reelflow, preset rungs)."""
        hls = get_ladder_preset(HLS_LADDER)
        dash = get_ladder_preset(DASH_LADDER)
        assert hls is not None and dash is not None
        cmaf = dash.model_copy(update={"format": LadderFormat.CMAF})
        sizes = {}
        for label, template in (("HLS", hls), ("DASH", dash), ("CMAF", cmaf)):
            out = self.fresh_dir("storage")
            try:
                _, sizes[label] = self.package(template, out / "pkg")
            finally:
                shutil.rmtree(out, ignore_errors=True)
        return sizes


def report(bench: Bench, version: str, runs: int, sizes: dict[str, int] | None) -> str:
    res = bench.results
    clip = bench.clip
    lines = [
        f"ladder bench: preset {HLS_LADDER} (HLS, 4 H.264/AAC rungs, {SEGMENT} s segments) on a "
        f"{clip.width}x{clip.height} {FPS} fps {clip.duration:g} s clip "
        f"({clip.path.relative_to(BENCH_DIR.parent)}); x264 preset {bench.preset}",
        f"FFmpeg {version} ({bench.ffmpeg}); {os.cpu_count()} CPUs; median of {runs} "
        f"interleaved run{'s' * (runs != 1)}",
        "",
        f"{'method':<44}{'wall s':>9}{'min':>8}{'max':>8}{'CPU s':>9}",
    ]
    labels = {
        NAIVE: f"(a) naive: {len(RUNGS)} encodes + 1 packaging",
        HAND: "(b) hand-written single FFmpeg (var_stream_map)",
        REELFLOW: "(c) reelflow select_rungs + package_ladder",
    }
    for method, label in labels.items():
        if method not in res.samples:
            continue  # --task-only
        walls = [m.wall for m in res.samples[method]]
        lines.append(
            f"{label:<44}{res.median(method):9.2f}{min(walls):8.2f}{max(walls):8.2f}"
            f"{res.median(method, lambda m: m.cpu):9.2f}"
        )

    def ratio(name: str, a: str, b: str, target: float) -> str:
        wall = res.median(a) / res.median(b)
        cpu = res.median(a, lambda m: m.cpu) / res.median(b, lambda m: m.cpu)
        verdict = "met" if wall <= target else "MISSED"
        return f"{name:<44}{wall:9.3f}{cpu:9.3f}  <= {target:.2f} {verdict}"

    if REELFLOW in res.samples:
        lines += [
            "",
            f"{'ratio (of medians)':<44}{'wall':>9}{'CPU':>9}  target (on wall)",
            ratio("(c) reelflow / (b) hand-written", REELFLOW, HAND, TARGET_VS_HAND),
            ratio("(c) reelflow / (a) naive", REELFLOW, NAIVE, TARGET_VS_NAIVE),
        ]
    if FUSED in res.samples:
        lines += [
            "",
            "in a task (default workflow + preset 10, one job):",
            *(
                f"{label:<44}{res.median(m):9.2f}{res.median(m, lambda x: x.cpu):18.2f}"
                for m, label in (
                    (FUSED, "(d) one command, one decode"),
                    (APART, "(e) ladder in its own FFmpeg process"),
                )
            ),
            ratio("(d) / (e)", FUSED, APART, 1.0),
        ]
    if sizes:
        both = sizes["HLS"] + sizes["DASH"]
        lines += [
            "",
            "storage, one package each: "
            + ", ".join(f"{k} {v / MIB:.2f} MiB" for k, v in sizes.items())
            + f"; CMAF / (HLS + DASH) = {sizes['CMAF'] / both:.3f}",
        ]
    lines.append(
        f"load average (1 min) before/after: {bench.load[0]:.2f} / {bench.load[1]:.2f} "
        f"on {os.cpu_count()} CPUs (other work inflates wall times; CPU s is steadier)"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="interleaved runs (default 3)")
    parser.add_argument("--duration", type=float, default=None, help="clip seconds (default 20)")
    parser.add_argument("--preset", default=None, help="x264 preset (default medium)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1080p 3 s, x264 veryfast, 1 run"
    )
    parser.add_argument(
        "--storage", action="store_true", help="also compare CMAF vs HLS + DASH sizes"
    )
    parser.add_argument(
        "--task", action="store_true", help="also time the ladder fused into a task's job"
    )
    parser.add_argument("--task-only", action="store_true", help="only the --task comparison")
    args = parser.parse_args(argv)
    args.runs = args.runs if args.runs is not None else 1 if args.quick else 3
    args.duration = args.duration or (3.0 if args.quick else 20.0)
    args.preset = args.preset or ("veryfast" if args.quick else "medium")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not 1.0 <= args.duration <= 3600:
        parser.error("--duration must be between 1 and 3600 seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clip = Clip(1920, 1080, args.duration)
    try:
        ffmpeg = find_ffmpeg(Settings().ffmpeg)
        version = ffmpeg_version(ffmpeg)
        make_clip(ffmpeg, clip)
        bench = Bench(ffmpeg, clip, args.preset)
        for number in range(1, args.runs + 1):
            if not args.task_only:
                bench.round(number, args.runs)
            if args.task or args.task_only:
                bench.task_round(number, args.runs)
        sizes = bench.storage() if args.storage else None
        bench.load = (bench.load[0], os.getloadavg()[0])
    except (BenchError, ReelflowError) as exc:
        note(f"bench failed: {exc}")
        return 1
    print(report(bench, version, args.runs, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
