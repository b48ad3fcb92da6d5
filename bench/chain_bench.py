"""``make bench-chain`` (also run by ``make bench``): a chained workflow against FFmpeg.

The workflow is a two-stage task graph on the generated clip of ``process_bench.py``: a
transcode to preset 100030 (H.264 720p) with ``id`` ``r720``, and three sub-tasks reading
that rendition (``input`` ``r720``): screenshots at 25/50/75%, the sprite sheet and the GIF
of the first 3 s. Timed side by side in the same run, interleaved (e, f, e, f, ...):

(e) the same two hand-written FFmpeg commands run one after the other: 1. the source to the
    720p MP4 as preset 100030; 2. that MP4 to the screenshots, the sprite and the GIF, one
    decode fused with ``split`` (the yardstick, not reelflow's builder);
(f) ``reelflow process SRC -w CHAIN.json -o TMP --json`` as a subprocess
    (``REELFLOW_VIDEO_PRESET`` unset).

Every command must succeed and leave the expected outputs (the screenshots at the
rendition's 1280x720, not the source's size), else the bench stops with exit code 1; the
target (issue 16: f / e <= 1.05 on wall time) is reported, never asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import av
from process_bench import (
    BENCH_DIR,
    FFMPEG_QUIET,
    FPS,
    JPEG_QUALITY,
    MP4,
    OUT_DIR,
    RENDITIONS,
    SNAPSHOT_PERCENTS,
    BenchError,
    Clip,
    Measure,
    Outputs,
    Rendition,
    Results,
    aac,
    check_files,
    check_mp4,
    default_outputs,
    gif_graph,
    make_clip,
    note,
    parse_args,
    run,
    sprite_filters,
    x264,
)

from reelflow.config import Settings
from reelflow.errors import ReelflowError
from reelflow.media.ffmpeg import ffmpeg_version, find_ffmpeg

TARGET_VS_TWO_COMMANDS = 1.05
NODE = "r720"
TWO, CHAIN = "two", "chain"
STEP1, STEP2 = "step 1: source -> 720p MP4", "step 2: MP4 -> screenshots+sprite+GIF"


def rendition_of(clip: Clip) -> Rendition:
    """Preset 100030 of the clip, sized as ``default_outputs`` sizes it."""
    definition, side, video_kbps, audio_kbps = RENDITIONS[2]
    height = min(side, clip.height)
    width = max(2, round(clip.width * height / clip.height / 2) * 2)
    return Rendition(definition, width, height, video_kbps, audio_kbps)


def chain_workflow(gif_seconds: float) -> dict[str, Any]:
    """The workflow file: a ``media_process_task`` whose image sub-tasks read the rendition."""
    return {
        "media_process_task": {
            "transcode_task_set": [{"definition": 100030, "id": NODE}],
            "snapshot_by_time_offset_task_set": [
                {
                    "definition": 10,
                    "ext_time_offset_set": [f"{p}%" for p in SNAPSHOT_PERCENTS],
                    "input": NODE,
                }
            ],
            "image_sprite_task_set": [{"definition": 10, "input": NODE}],
            "animated_graphic_task_set": [
                {
                    "definition": 20000,
                    "start_time_offset": 0,
                    "end_time_offset": gif_seconds,
                    "input": NODE,
                }
            ],
        }
    }


def transcode_argv(ffmpeg: Path, clip: Clip, r: Rendition, out: Path) -> list[str]:
    """Command 1: the source to the 720p MP4, as preset 100030 (and (c) of process_bench)."""
    return [
        str(ffmpeg), *FFMPEG_QUIET, "-i", str(clip.path), "-map", "0:v:0", "-map", "0:a:0",
        "-vf", f"scale={r.width}:{r.height}:flags=bicubic", *x264(r), *aac(r), *MP4, str(out),
    ]  # fmt: skip


def images_argv(ffmpeg: Path, rclip: Clip, o: Outputs, mp4: Path, out: Path) -> list[str]:
    """Command 2: the rendition decoded once, ``split`` to the screenshots, sprite and GIF."""
    snaps = "+".join(f"eq(n\\,{n})" for n in o.snapshot_frames)
    chains = [
        "[0:v:0]split=3[snap][spr][gif]",
        f"[snap]select='{snaps}'[osnap]",
        f"[spr]{sprite_filters(o)}[ospr]",
        gif_graph(f"[gif]trim=end={o.gif_seconds:g},setpts=PTS-STARTPTS,", rclip, "[ogif]"),
    ]
    argv = [str(ffmpeg), *FFMPEG_QUIET, "-i", str(mp4), "-filter_complex", ";".join(chains)]
    for label, prefix in (("osnap", "snap"), ("ospr", "sprite")):
        argv += ["-map", f"[{label}]", "-fps_mode", "passthrough", *JPEG_QUALITY]
        argv += ["-start_number", "0", str(out / f"{prefix}_%d.jpg")]
    return [*argv, "-map", "[ogif]", "-loop", "0", str(out / "anim.gif")]


def check_image(path: Path, size: tuple[int, int]) -> None:
    try:
        with av.open(str(path)) as container:
            ctx = container.streams.video[0].codec_context
            found = (ctx.width, ctx.height)
    except (av.FFmpegError, IndexError) as exc:
        raise BenchError(f"{path} is not a readable picture: {exc}") from exc
    if found != size:
        raise BenchError(f"{path} is {found[0]}x{found[1]}, expected {size[0]}x{size[1]}")


def check_outputs(out: Path, names: dict[str, str], r: Rendition, o: Outputs, what: str) -> None:
    """``names``: the glob of each kind of output (mp4, snap, sprite, gif)."""
    check_files(
        out,
        {
            names["mp4"]: 1,
            names["snap"]: len(o.snapshot_frames),
            names["sprite"]: o.sprite_sheets,
            names["gif"]: 1,
        },
        what,
    )
    check_mp4(next(out.glob(names["mp4"])), r)
    for snap in out.glob(names["snap"]):
        check_image(snap, (r.width, r.height))  # taken from the rendition, not the source
    check_image(next(out.glob(names["gif"])), (r.width, r.height))


def check_result(result_path: Path) -> None:
    try:
        result: dict[str, Any] = json.loads(result_path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"reelflow process printed no JSON result: {exc}") from exc
    if result.get("Status") != "FINISH" or result.get("ErrCode") != 0:
        raise BenchError(f"reelflow task ended {result.get('Status')} {result.get('Message')!r}")
    subtasks = result.get("MediaProcessResultSet", [])
    failed = [
        f"{item['Type']}: {task.get('Message')}"
        for item in subtasks
        for task in item.values()
        if isinstance(task, dict) and task.get("Status") != "SUCCESS"
    ]
    if failed or len(subtasks) != 4:
        raise BenchError(f"reelflow: {len(subtasks)} sub-tasks (expected 4), failed: {failed}")


class ChainBench:
    def __init__(self, ffmpeg: Path, reelflow: Path, clip: Clip) -> None:
        self.ffmpeg = ffmpeg
        self.reelflow = reelflow
        self.clip = clip
        self.rendition = rendition_of(clip)
        self.rclip = Clip(self.rendition.width, self.rendition.height, clip.duration)
        self.outputs = default_outputs(self.rclip)  # the image outputs, of the rendition
        self.results = Results()
        self.steps: dict[str, list[float]] = {}
        self.load = (os.getloadavg()[0], 0.0)

    def fresh_dir(self, method: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"run-chain-{method}-", dir=OUT_DIR))

    def two_commands(self) -> Measure:
        out = self.fresh_dir(TWO)
        mp4 = out / f"r{self.rendition.definition}.mp4"
        try:
            started = time.perf_counter()
            first = run(transcode_argv(self.ffmpeg, self.clip, self.rendition, mp4), f"(e) {STEP1}")
            argv = images_argv(self.ffmpeg, self.rclip, self.outputs, mp4, out)
            second = run(argv, f"(e) {STEP2}")
            total = Measure.combine([first, second], time.perf_counter() - started)
            names = {"mp4": mp4.name, "snap": "snap_*.jpg", "sprite": "sprite_*.jpg"}
            names["gif"] = "anim.gif"
            check_outputs(out, names, self.rendition, self.outputs, "(e) two FFmpeg commands")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        self.steps.setdefault(STEP1, []).append(first.wall)
        self.steps.setdefault(STEP2, []).append(second.wall)
        return total

    def chain(self) -> Measure:
        out = self.fresh_dir(CHAIN)
        env = {k: v for k, v in os.environ.items() if k != "REELFLOW_VIDEO_PRESET"}
        try:
            workflow = out / "chain.json"
            workflow.write_text(json.dumps(chain_workflow(self.outputs.gif_seconds)))
            stdout = out / "stdout.json"
            argv = [str(self.reelflow), "process", str(self.clip.path), "-w", str(workflow)]
            argv += ["-o", str(out / "o"), "--json"]
            m = run(argv, "(f) reelflow process -w chain", env=env, stdout=stdout)
            check_result(stdout)
            names = {
                "mp4": "*_transcode_100030.mp4",
                "snap": "*_snapshotByTimeOffset_*.jpg",
                "sprite": "*_imageSprite_*.jpg",
                "gif": "*_animatedGraphic_*.gif",
            }
            check_outputs(out / "o", names, self.rendition, self.outputs, "(f) reelflow process")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return m

    def round(self, number: int, runs: int) -> None:
        methods: list[tuple[str, Callable[[], Measure]]] = [
            (TWO, self.two_commands),
            (CHAIN, self.chain),
        ]
        for name, method in methods:
            m = method()
            self.results.add(name, m)
            note(
                f"chain run {number}/{runs} {name:6} {m.wall:8.2f} s wall, {m.cpu:8.2f} s CPU, "
                f"{m.max_rss:5.0f} MiB"
            )


def report(bench: ChainBench, ffmpeg_ver: str, runs: int) -> str:
    res = bench.results
    clip, r, o = bench.clip, bench.rendition, bench.outputs
    lines = [
        f"reelflow chain bench: transcode {r.definition} ({r.width}x{r.height}) -> "
        f"{len(o.snapshot_frames)} screenshots + {o.sprite_sheets} sprite sheet + 1 GIF of the "
        f"rendition, on a {clip.width}x{clip.height} {FPS} fps {clip.duration:g} s clip "
        f"({clip.path.relative_to(BENCH_DIR.parent)}); x264 preset medium",
        f"FFmpeg {ffmpeg_ver} ({bench.ffmpeg}); {os.cpu_count()} CPUs; "
        f"median of {runs} interleaved run{'s' * (runs != 1)}",
        "",
        f"{'method':<40}{'wall s':>9}{'min':>8}{'max':>8}{'CPU s':>9}{'max child RSS':>15}",
    ]
    labels = {
        TWO: "(e) two FFmpeg commands in a row",
        CHAIN: "(f) reelflow process -w (chain)",
    }
    for method, label in labels.items():
        walls = [m.wall for m in res.samples[method]]
        lines.append(
            f"{label:<40}{res.median(method):9.2f}{min(walls):8.2f}{max(walls):8.2f}"
            f"{res.median(method, lambda m: m.cpu):9.2f}"
            f"{max(m.max_rss for m in res.samples[method]):11.0f} MiB"
        )
    wall = res.median(CHAIN) / res.median(TWO)
    cpu = res.median(CHAIN, lambda m: m.cpu) / res.median(TWO, lambda m: m.cpu)
    met = "met" if wall <= TARGET_VS_TWO_COMMANDS else "MISSED"
    lines += [
        "",
        f"{'ratio (of medians)':<40}{'wall':>9}{'CPU':>9}  target (on wall)",
        f"{'(f) chain / (e) two commands':<40}{wall:9.3f}{cpu:9.3f}"
        f"  <= {TARGET_VS_TWO_COMMANDS:.2f} {met}",
        f"{'(f) - (e), seconds':<40}{res.median(CHAIN) - res.median(TWO):9.2f}",
        "",
        "(e) by command, median wall s: "
        + ", ".join(f"{step} {statistics.median(v):.2f}" for step, v in bench.steps.items()),
        f"load average (1 min) before/after: {bench.load[0]:.2f} / {bench.load[1]:.2f}"
        f" on {os.cpu_count()} CPUs (other work inflates wall times; CPU s is steadier)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv, __doc__, ("1080p", 4.0))
    # 1080p even for --quick: the screenshots must come out at the rendition's 720p.
    clip = Clip(1920, 1080, args.duration)
    reelflow = Path(sys.executable).parent / "reelflow"
    try:
        if not reelflow.exists():
            raise BenchError(f"no reelflow script next to {sys.executable}: run `make bench`")
        ffmpeg = find_ffmpeg(Settings().ffmpeg)  # the binary reelflow itself will use
        version = ffmpeg_version(ffmpeg)
        make_clip(ffmpeg, clip)
        bench = ChainBench(ffmpeg, reelflow, clip)
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
