"""``make bench``: ``reelflow process`` on the default workflow against FFmpeg yardsticks.

On a generated clip (testsrc2 + sine, H.264/AAC MP4, made once into ``bench/out/``) it times,
side by side in the same run and interleaved (a, b, c, d, a, b, c, d, ...):

(a) naive: one FFmpeg process per output file, one after another: each MP4 rendition from
    a full decode; each screenshot (time-point and sampled) with an input seek and one frame;
    the sprite sheet from a full decode; the GIF from the first seconds only (``-t``);
(b) bare decode: ``ffmpeg -i SRC -f null -``;
(c) the best single FFmpeg command written by hand for the same outputs: one decode,
    ``split`` feeding every output (not reelflow's builder: it is the yardstick);
(d) ``reelflow process SRC -o TMP --json`` as a subprocess (``REELFLOW_VIDEO_PRESET`` unset).

The parameters of (a) and (c) are the default workflow's (``presets/default_workflow.py`` and the
preset catalog), written out here by hand. Every command must succeed and leave the expected
outputs, else the bench stops with exit code 1; missed targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from reelflow.config import Settings
from reelflow.errors import ReelflowError
from reelflow.media.ffmpeg import ffmpeg_version, find_ffmpeg

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
FPS = 25
MIB = 1024 * 1024
# ru_maxrss is in KiB on Linux, in bytes on macOS.
RSS_UNIT = 1 if sys.platform == "darwin" else 1024
FFMPEG_QUIET = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]

# The MP4 presets of the default workflow: definition, short side, video kbps, audio kbps.
# All H.264 (x264 preset medium, profile high, maxrate 1.5x, bufsize 2x), 25 fps, AAC 44.1 kHz
# stereo. 100040 only for a source whose short side is at least 1080.
RENDITIONS = ((100010, 360, 400, 64), (100020, 540, 1000, 64), (100030, 720, 1800, 128))
FULL_HD = (100040, 1080, 2500, 128)
SNAPSHOT_PERCENTS = (25, 50, 75)  # snapshot preset 10: JPG, source size
SAMPLE_PERCENT = 10  # sampled snapshot preset 10: JPG, source size, every 10% of the duration
SPRITE_CELL = (142, 80)  # sprite preset 10: 142x80 cells, 10 x 10 per sheet, one every 10 s
SPRITE_GRID = (10, 10)
SPRITE_INTERVAL = 10.0
GIF_SECONDS = 3.0  # animated preset 20000: GIF, source size, 2 fps, of the first 3 s
GIF_FPS = 2
JPEG_QUALITY = ["-q:v", "2"]
TARGET_VS_NAIVE = 0.70
TARGET_VS_FUSED = 1.01  # issue 15: the wiring must not make a one-file job pay for the server
TARGET_OVER_FUSED_SECONDS = 0.3


class BenchError(Exception):
    """A command failed or left wrong outputs: the measurement is worthless."""


@dataclass(frozen=True)
class Clip:
    width: int
    height: int
    duration: float

    @property
    def path(self) -> Path:
        seconds = f"{self.duration:g}".replace(".", "_")
        return OUT_DIR / f"src_{self.width}x{self.height}_{FPS}fps_{seconds}s.mp4"

    @property
    def frames(self) -> int:
        return round(self.duration * FPS)


@dataclass(frozen=True)
class Rendition:
    definition: int
    width: int
    height: int
    video_kbps: int
    audio_kbps: int

    @property
    def name(self) -> str:
        return f"r{self.definition}.mp4"


@dataclass(frozen=True)
class Outputs:
    """What the default workflow makes of the clip; times are frame numbers at 25 fps."""

    renditions: list[Rendition]
    snapshot_frames: list[int]
    sample_frames: list[int]
    sprite_every: int  # frames between sprite cells
    sprite_sheets: int
    gif_seconds: float


def default_outputs(clip: Clip) -> Outputs:
    short = min(clip.width, clip.height)
    tiers = [*RENDITIONS, FULL_HD] if short >= FULL_HD[1] else list(RENDITIONS)
    renditions = []
    for definition, side, video_kbps, audio_kbps in tiers:
        height = min(side, clip.height)  # the clip is landscape: height is the short side
        width = max(2, round(clip.width * height / clip.height / 2) * 2)
        renditions.append(Rendition(definition, width, height, video_kbps, audio_kbps))
    last = clip.frames - 1  # the last frame: no time-point lies past it

    def first_frame_at(seconds: float) -> int:
        return min(last, math.ceil(seconds * FPS - 1e-6))

    snapshots = [first_frame_at(clip.duration * p / 100) for p in SNAPSHOT_PERCENTS]
    interval = clip.duration * SAMPLE_PERCENT / 100
    samples = sorted(
        {first_frame_at(i * interval) for i in range(math.floor(last / FPS / interval + 1e-6) + 1)}
    )
    cells = math.floor(last / FPS / SPRITE_INTERVAL + 1e-6) + 1
    return Outputs(
        renditions=renditions,
        snapshot_frames=snapshots,
        sample_frames=samples,
        sprite_every=round(SPRITE_INTERVAL * FPS),
        sprite_sheets=math.ceil(cells / (SPRITE_GRID[0] * SPRITE_GRID[1])),
        gif_seconds=min(GIF_SECONDS, clip.duration),
    )


# -- running and measuring -----------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and its waited-for descendants
    max_rss: float  # MiB, of the largest single process in the tree

    @staticmethod
    def combine(parts: Sequence[Measure], wall: float) -> Measure:
        return Measure(wall, sum(p.cpu for p in parts), max(p.max_rss for p in parts))


def run(
    argv: Sequence[str],
    what: str,
    *,
    env: dict[str, str] | None = None,
    stdout: Path | None = None,
) -> Measure:
    """Run ``argv`` to its end; raise ``BenchError`` with its stderr if it fails."""
    with (
        tempfile.TemporaryFile() as err,
        (stdout or Path(os.devnull)).open("wb") as out,
    ):
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        except OSError as exc:
            raise BenchError(f"{what}: cannot start {argv[0]}: {exc}") from exc
        # wait4 (not Popen.wait) to get this child's own CPU time and peak RSS.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-3000:].decode("utf-8", "replace")
            raise BenchError(
                f"{what} failed with exit code {proc.returncode}\n"
                f"  command: {shlex.join(argv)}\n{tail}"
            )
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * RSS_UNIT / MIB)


def make_clip(ffmpeg: Path, clip: Clip) -> None:
    """Generate the source once (to a temporary name, then renamed: never half-written)."""
    if clip.path.exists():
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    part = clip.path.with_suffix(".part.mp4")
    d = f"{clip.duration:g}"
    argv = [str(ffmpeg), *FFMPEG_QUIET, "-f", "lavfi", "-i"]
    argv += [f"testsrc2=size={clip.width}x{clip.height}:rate={FPS}:duration={d}"]
    argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={d}"]
    argv += ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast"]
    argv += ["-crf", "20", "-g", str(2 * FPS), "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart"]
    run([*argv, "-shortest", str(part)], "generating the source clip")
    part.rename(clip.path)


# -- the methods ---------------------------------------------------------------------------


def x264(r: Rendition) -> list[str]:
    kbps = r.video_kbps
    return [
        "-c:v", "libx264", "-preset", "medium", "-profile:v", "high",
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps * 3 // 2}k", "-bufsize", f"{kbps * 2}k",
    ]  # fmt: skip


def aac(r: Rendition) -> list[str]:
    return ["-c:a", "aac", "-b:a", f"{r.audio_kbps}k", "-ar", "44100", "-ac", "2"]


MP4 = ["-map_metadata", "-1", "-f", "mp4", "-movflags", "+faststart"]


def gif_graph(source: str, clip: Clip, out: str) -> str:
    return (
        f"{source}fps={GIF_FPS},scale={clip.width}:{clip.height}:flags=lanczos,setsar=1,"
        f"split[ga][gb];[ga]palettegen=stats_mode=diff[gp];"
        f"[gb][gp]paletteuse=dither=bayer:bayer_scale=4{out}"
    )


def sprite_filters(o: Outputs) -> str:
    cols, rows = SPRITE_GRID
    return (
        f"select='not(mod(n\\,{o.sprite_every}))',"
        f"scale={SPRITE_CELL[0]}:{SPRITE_CELL[1]}:flags=bicubic,setsar=1,tile={cols}x{rows}"
    )


def naive_steps(ffmpeg: Path, clip: Clip, o: Outputs, out: Path) -> list[tuple[str, list[str]]]:
    """(group, argv): one FFmpeg process per output file, as a person would write them."""
    src = str(clip.path)
    ff = [str(ffmpeg), *FFMPEG_QUIET]
    steps: list[tuple[str, list[str]]] = []
    for r in o.renditions:
        vf = f"fps={FPS},scale={r.width}:{r.height}:flags=bicubic,setsar=1,format=yuv420p"
        steps.append((
            f"MP4 {r.definition}",
            [*ff, "-i", src, "-map", "0:v:0", "-map", "0:a:0", "-vf", vf,
             *x264(r), *aac(r), *MP4, str(out / r.name)],
        ))  # fmt: skip
    images = [("snap", "screenshots", n) for n in o.snapshot_frames]
    images += [("sample", "sampled screenshots", n) for n in o.sample_frames]
    counters: dict[str, int] = {}
    for prefix, group, frame in images:
        number = counters.setdefault(prefix, 0)
        counters[prefix] = number + 1
        steps.append((
            group,
            [*ff, "-ss", f"{frame / FPS:.3f}", "-i", src, "-map", "0:v:0", "-frames:v", "1",
             *JPEG_QUALITY, "-update", "1", str(out / f"{prefix}_{number}.jpg")],
        ))  # fmt: skip
    steps.append((
        "sprite",
        [*ff, "-i", src, "-map", "0:v:0", "-vf", sprite_filters(o), "-fps_mode", "passthrough",
         *JPEG_QUALITY, "-start_number", "0", str(out / "sprite_%d.jpg")],
    ))  # fmt: skip
    steps.append((
        "GIF",
        [*ff, "-t", f"{o.gif_seconds:g}", "-i", src, "-filter_complex",
         gif_graph("[0:v:0]", clip, ""), "-loop", "0", str(out / "anim.gif")],
    ))  # fmt: skip
    return steps


def fused_argv(ffmpeg: Path, clip: Clip, o: Outputs, out: Path) -> list[str]:
    """The hand-written yardstick: decode once, ``split`` to every output.

    It knows the source (constant 25 fps, square pixels, yuv420p), so it leaves out the
    filters that would be no-ops here (fps, setsar, format, a scale to the source size),
    picks frames by number, and resamples the audio once for all renditions.
    """
    rend = o.renditions
    branches = [f"[v{i}]" for i in range(len(rend))] + ["[snap]", "[samp]", "[spr]", "[gif]"]
    chains = [f"[0:v:0]split={len(branches)}{''.join(branches)}"]
    for i, r in enumerate(rend):
        if (r.width, r.height) != (clip.width, clip.height):
            chains.append(f"[v{i}]scale={r.width}:{r.height}:flags=bicubic[o{i}]")
        else:
            chains.append(f"[v{i}]null[o{i}]")
    audio = "".join(f"[a{i}]" for i in range(len(rend)))
    chains.append(f"[0:a:0]aresample=44100,asplit={len(rend)}{audio}")
    snaps = "+".join(f"eq(n\\,{n})" for n in o.snapshot_frames)
    samples = "+".join(f"eq(n\\,{n})" for n in o.sample_frames)
    chains.append(f"[snap]select='{snaps}'[osnap]")
    chains.append(f"[samp]select='{samples}'[osamp]")
    chains.append(f"[spr]{sprite_filters(o)}[ospr]")
    chains.append(
        gif_graph(f"[gif]trim=end={o.gif_seconds:g},setpts=PTS-STARTPTS,", clip, "[ogif]")
    )
    argv = [str(ffmpeg), *FFMPEG_QUIET, "-i", str(clip.path), "-filter_complex", ";".join(chains)]
    for i, r in enumerate(rend):
        argv += ["-map", f"[o{i}]", "-map", f"[a{i}]", *x264(r), *aac(r), *MP4, str(out / r.name)]
    for label, prefix in (("osnap", "snap"), ("osamp", "sample"), ("ospr", "sprite")):
        argv += ["-map", f"[{label}]", "-fps_mode", "passthrough", *JPEG_QUALITY]
        argv += ["-start_number", "0", str(out / f"{prefix}_%d.jpg")]
    argv += ["-map", "[ogif]", "-loop", "0", str(out / "anim.gif")]
    return argv


# -- checking outputs ----------------------------------------------------------------------


def check_mp4(path: Path, r: Rendition) -> None:
    try:
        with av.open(str(path)) as container:
            video = container.streams.video
            size = (video[0].codec_context.width, video[0].codec_context.height) if video else None
            audio = len(container.streams.audio)
    except av.FFmpegError as exc:
        raise BenchError(f"{path} is not readable media: {exc}") from exc
    if size != (r.width, r.height) or audio != 1:
        raise BenchError(
            f"{path}: video {size}, {audio} audio streams; expected {r.width}x{r.height} + audio"
        )


def check_files(out: Path, expected: dict[str, int], what: str) -> None:
    for pattern, count in expected.items():
        found = [p for p in out.glob(pattern) if p.stat().st_size > 0]
        if len(found) != count:
            raise BenchError(
                f"{what}: {len(found)} non-empty files {pattern} in {out}, expected {count}"
            )


def check_ffmpeg_outputs(out: Path, o: Outputs, what: str) -> None:
    check_files(
        out,
        {
            "r*.mp4": len(o.renditions),
            "snap_*.jpg": len(o.snapshot_frames),
            "sample_*.jpg": len(o.sample_frames),
            "sprite_*.jpg": o.sprite_sheets,
            "anim.gif": 1,
        },
        what,
    )
    for r in o.renditions:
        check_mp4(out / r.name, r)


def check_reelflow_outputs(out: Path, result_path: Path, o: Outputs) -> None:
    try:
        result: dict[str, Any] = json.loads(result_path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"reelflow process printed no JSON result: {exc}") from exc
    if result.get("Status") != "FINISH" or result.get("ErrCode") != 0:
        raise BenchError(f"reelflow task ended {result.get('Status')} {result.get('Message')!r}")
    subtasks = result.get("MediaProcessResultSet", [])
    expected_subtasks = len(o.renditions) + 4
    failed = [
        f"{item['Type']}: {task.get('Message')}"
        for item in subtasks
        for task in item.values()
        if isinstance(task, dict) and task.get("Status") != "SUCCESS"
    ]
    if failed or len(subtasks) != expected_subtasks:
        raise BenchError(
            f"reelflow: {len(subtasks)} sub-tasks (expected {expected_subtasks}), failed: {failed}"
        )
    sizes = {
        item["TranscodeTask"]["Output"]["Definition"]: (
            item["TranscodeTask"]["Output"]["Width"],
            item["TranscodeTask"]["Output"]["Height"],
        )
        for item in subtasks
        if item["Type"] == "Transcode"
    }
    want = {r.definition: (r.width, r.height) for r in o.renditions}
    if sizes != want:
        raise BenchError(f"reelflow renditions {sizes} differ from the yardstick's {want}")
    check_files(
        out,
        {
            "*_transcode_*.mp4": len(o.renditions),
            "*_snapshotByTimeOffset_*.jpg": len(o.snapshot_frames),
            "*_sampleSnapshot_*.jpg": len(o.sample_frames),
            "*_imageSprite_*.jpg": o.sprite_sheets,
            "*_imageSprite_*.vtt": 1,
            "*_animatedGraphic_*.gif": 1,
            "result.json": 1,
        },
        "reelflow process",
    )


# -- the bench -----------------------------------------------------------------------------


@dataclass
class Results:
    samples: dict[str, list[Measure]] = field(default_factory=dict)
    naive_groups: dict[str, list[float]] = field(default_factory=dict)

    def add(self, method: str, m: Measure) -> None:
        self.samples.setdefault(method, []).append(m)

    def median(self, method: str, key: Callable[[Measure], float] = lambda m: m.wall) -> float:
        return statistics.median(key(m) for m in self.samples[method])


NAIVE, DECODE, FUSED, PROCESS = "naive", "decode", "fused", "process"


class Bench:
    def __init__(self, ffmpeg: Path, reelflow: Path, clip: Clip) -> None:
        self.ffmpeg = ffmpeg
        self.reelflow = reelflow
        self.clip = clip
        self.outputs = default_outputs(clip)
        self.results = Results()
        self.naive_count = len(naive_steps(ffmpeg, clip, self.outputs, OUT_DIR))
        self.load = (os.getloadavg()[0], 0.0)

    def fresh_dir(self, method: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"run-{method}-", dir=OUT_DIR))

    def naive(self) -> Measure:
        out = self.fresh_dir(NAIVE)
        try:
            parts = []
            groups: dict[str, float] = {}
            started = time.perf_counter()
            for group, argv in naive_steps(self.ffmpeg, self.clip, self.outputs, out):
                m = run(argv, f"(a) naive: {group}")
                parts.append(m)
                groups[group] = groups.get(group, 0.0) + m.wall
            total = Measure.combine(parts, time.perf_counter() - started)
            check_ffmpeg_outputs(out, self.outputs, "(a) naive")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        for group, seconds in groups.items():
            self.results.naive_groups.setdefault(group, []).append(seconds)
        return total

    def decode(self) -> Measure:
        argv = [str(self.ffmpeg), *FFMPEG_QUIET, "-i", str(self.clip.path), "-f", "null", "-"]
        return run(argv, "(b) bare decode")

    def fused(self) -> Measure:
        out = self.fresh_dir(FUSED)
        try:
            m = run(fused_argv(self.ffmpeg, self.clip, self.outputs, out), "(c) fused FFmpeg")
            check_ffmpeg_outputs(out, self.outputs, "(c) fused FFmpeg")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return m

    def process(self) -> Measure:
        out = self.fresh_dir(PROCESS)
        env = {k: v for k, v in os.environ.items() if k != "REELFLOW_VIDEO_PRESET"}
        try:
            stdout = out / "stdout.json"
            argv = [
                str(self.reelflow),
                "process",
                str(self.clip.path),
                "-o",
                str(out / "o"),
                "--json",
            ]
            m = run(argv, "(d) reelflow process", env=env, stdout=stdout)
            check_reelflow_outputs(out / "o", stdout, self.outputs)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return m

    def round(self, number: int, runs: int) -> None:
        methods: list[tuple[str, Callable[[], Measure]]] = [
            (NAIVE, self.naive),
            (DECODE, self.decode),
            (FUSED, self.fused),
            (PROCESS, self.process),
        ]
        for name, method in methods:
            m = method()
            self.results.add(name, m)
            note(
                f"run {number}/{runs} {name:8} {m.wall:8.2f} s wall, {m.cpu:8.2f} s CPU, "
                f"{m.max_rss:5.0f} MiB"
            )


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def report(bench: Bench, ffmpeg_ver: str, runs: int) -> str:
    res = bench.results
    clip = bench.clip
    o = bench.outputs
    lines = [
        f"reelflow process bench: default workflow on a {clip.width}x{clip.height} {FPS} fps "
        f"{clip.duration:g} s clip with audio ({clip.path.relative_to(BENCH_DIR.parent)})",
        f"outputs: {len(o.renditions)} MP4 ({', '.join(f'{r.height}p' for r in o.renditions)}), "
        f"{len(o.snapshot_frames)} screenshots, {len(o.sample_frames)} sampled, "
        f"{o.sprite_sheets} sprite sheet, 1 GIF; x264 preset medium",
        f"FFmpeg {ffmpeg_ver} ({bench.ffmpeg}); {os.cpu_count()} CPUs; "
        f"median of {runs} interleaved run{'s' * (runs != 1)}",
        "",
        f"{'method':<34}{'wall s':>9}{'min':>8}{'max':>8}{'CPU s':>9}{'max child RSS':>15}",
    ]
    labels = {
        NAIVE: f"(a) naive: {bench.naive_count} FFmpeg runs in a row",
        DECODE: "(b) bare decode",
        FUSED: "(c) hand-written fused FFmpeg",
        PROCESS: "(d) reelflow process",
    }
    for method, label in labels.items():
        walls = [m.wall for m in res.samples[method]]
        lines.append(
            f"{label:<34}{res.median(method):9.2f}{min(walls):8.2f}{max(walls):8.2f}"
            f"{res.median(method, lambda m: m.cpu):9.2f}"
            f"{max(m.max_rss for m in res.samples[method]):11.0f} MiB"
        )

    def ratio(name: str, a: str, b: str, target: float | None = None) -> str:
        wall = res.median(a) / res.median(b)
        cpu = res.median(a, lambda m: m.cpu) / res.median(b, lambda m: m.cpu)
        line = f"{name:<34}{wall:9.3f}{cpu:9.3f}"
        if target is not None:
            line += f"  <= {target:.2f} {'met' if wall <= target else 'MISSED'}"
        return line

    def over_fused(seconds: float) -> str:
        met = "met" if seconds <= TARGET_OVER_FUSED_SECONDS else "MISSED"
        target = f"  <= {TARGET_OVER_FUSED_SECONDS:.2f} {met}"
        return f"{'process - (c) fused, seconds':<34}{seconds:9.2f}{'':9}{target}"

    lines += [
        "",
        f"{'ratio (of medians)':<34}{'wall':>9}{'CPU':>9}  target (on wall)",
        ratio("process / (a) naive", PROCESS, NAIVE, TARGET_VS_NAIVE),
        ratio("process / (c) fused", PROCESS, FUSED, TARGET_VS_FUSED),
        ratio("(c) fused / (a) naive", FUSED, NAIVE),
        ratio("(b) decode / (a) naive", DECODE, NAIVE),
        over_fused(res.median(PROCESS) - res.median(FUSED)),
        "",
        "(a) by output, median wall s: "
        + ", ".join(f"{g} {statistics.median(v):.2f}" for g, v in res.naive_groups.items()),
        f"load average (1 min) before/after: {bench.load[0]:.2f} / {bench.load[1]:.2f}"
        f" on {os.cpu_count()} CPUs (other work inflates wall times; CPU s is steadier)",
    ]
    return "\n".join(lines)


def parse_args(
    argv: Sequence[str] | None, doc: str | None = __doc__, quick: tuple[str, float] = ("720p", 6.0)
) -> argparse.Namespace:
    """``--runs``, ``--duration``, ``--quick`` (``quick``: its clip size and seconds)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("--runs", type=int, default=None, help="interleaved runs (default 3)")
    parser.add_argument("--duration", type=float, default=None, help="clip seconds (default 20)")
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke test: {quick[0]} {quick[1]:g} s, 1 run"
    )
    args = parser.parse_args(argv)
    args.runs = args.runs if args.runs is not None else 1 if args.quick else 3
    if args.duration is None:
        args.duration = quick[1] if args.quick else 20.0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not 1.0 <= args.duration <= 3600:
        parser.error("--duration must be between 1 and 3600 seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clip = Clip(1280, 720, args.duration) if args.quick else Clip(1920, 1080, args.duration)
    reelflow = Path(sys.executable).parent / "reelflow"
    try:
        if not reelflow.exists():
            raise BenchError(f"no reelflow script next to {sys.executable}: run `make bench`")
        ffmpeg = find_ffmpeg(Settings().ffmpeg)  # the binary reelflow itself will use
        version = ffmpeg_version(ffmpeg)
        make_clip(ffmpeg, clip)
        bench = Bench(ffmpeg, reelflow, clip)
        for number in range(1, args.runs + 1):
            bench.round(number, args.runs)
        bench.load = (bench.load[0], os.getloadavg()[0])
    except (BenchError, ReelflowError) as exc:
        note(f"bench failed: {exc}")
        return 1
    print(report(bench, version, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
