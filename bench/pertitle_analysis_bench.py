"""The per-title analysis' cost, lever by lever (issue 18): each variant of the probes run
side by side on the same clips, interleaved, against the top fixed rung encoded alone.

Variants (all on the probes the product used before the levers below were made its
defaults, unless the name says otherwise: 3 x 1 s scenes, the fixed ladder's 4 sizes, CRF
18/27/36 at the ladder's preset, VMAF every 6th frame):

- ``product``: the product's analysis as it is now (``executors.pertitle.probe_title``:
  its constants: VMAF every 12th frame, the smallest size not probed, the extension CRFs
  when a size's cheapest probe still reaches the target), cut to the title's length
  (``fit_probes``: at most ``PROBE_SHARE`` of the title's seconds of probes);
- ``product-whole``: the same without the cut (``PROBE_SHARE`` 0): the whole analysis
  whatever the title's length, as before the cut;
- ``files``: the three FFmpeg runs (lossless sample written, probes encoded from it,
  probes read back and scored): the analysis before the fused one;
- ``fused``: one process, the scenes decoded once, probes loopback-decoded and scored;
- ``fused-sub12``: VMAF every 12th frame; ``fused-0.6s``: 3 x 0.6 s scenes;
- ``fused-2crf``: CRF 20/34 only; ``fused-3sizes``: the smallest rung's size not probed
  (its rung then taken from the next size's curve);
- ``fused-720cap``: no probe above 1280x720 (the 1080p rung's choice from the 720p
  curve's size: what a cap costs in accuracy shows in the top rung's choice);
- ``fused-sub12-2crf``: both of ``fused-sub12`` and ``fused-2crf``.

Printed per clip and variant: wall and CPU seconds (medians of ``--runs``), CPU / the top
rung's encode CPU, and the rungs chosen (size, kbps, predicted VMAF) with each rung's
predicted VMAF read on the ``files`` variant's curves at the chosen rate (how far the
variant's choice is from what the full probes would predict for it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from pertitle_bench import CUSTOM, PRESET_LADDER, make_clip, timed, top_rung_alone

from reelflow.executors import pertitle
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.media.pertitle import ProbeOptions, measure_points
from reelflow.media.probe import probe
from reelflow.media.quality import QualityOptions
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.ladder import select_rungs
from reelflow.planner.pertitle import choose_rungs, curves, vmaf_at
from reelflow.presets.ladders import get_ladder_preset
from reelflow.specs.pertitle import RatePoint, RungChoice

VARIANTS = ("product", "product-whole", "files", "fused", "fused-sub12", "fused-0.6s",
            "fused-2crf", "fused-3sizes", "fused-720cap", "fused-sub12-2crf")  # fmt: skip


def options(name: str, preset: str, keyint: int) -> ProbeOptions:
    base = ProbeOptions(
        scenes=pertitle.PROBE_SCENES, scene_seconds=pertitle.PROBE_SCENE_SECONDS,
        crfs=pertitle.PROBE_CRFS, preset=preset, keyint=keyint,
        quality=QualityOptions(subsample=6, threads=2),
    )  # fmt: skip
    if name in ("product", "product-whole"):
        return replace(base, quality=QualityOptions(subsample=pertitle.PROBE_SUBSAMPLE, threads=2))
    if name == "files":
        return replace(base, fused=False)
    if name == "fused-sub12":
        return replace(base, quality=QualityOptions(subsample=12, threads=2))
    if name == "fused-0.6s":
        return replace(base, scene_seconds=0.6)
    if name == "fused-2crf":
        return replace(base, crfs=(20, 34))
    if name == "fused-sub12-2crf":
        return replace(base, crfs=(20, 34), quality=QualityOptions(subsample=12, threads=2))
    return base


def sizes_of(name: str, sizes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if name == "fused-3sizes":
        return sizes[1:]
    if name == "fused-720cap":
        return [s for s in sizes if s[0] * s[1] <= 1280 * 720]
    return sizes


def run_variant(
    name: str, measure: Callable[[], list[RatePoint]]
) -> tuple[float, float, list[RatePoint]]:
    """(wall s, CPU s, points) of one variant's analysis; ``product-whole`` with the cut
    to the title's length off."""
    share = pertitle.PROBE_SHARE
    if name == "product-whole":
        pertitle.PROBE_SHARE = 0.0
    try:
        return timed(measure)
    finally:
        pertitle.PROBE_SHARE = share


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--clips", default="easy,moving,noise")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--extend-crfs",
        default=",".join(map(str, pertitle.PROBE_EXTEND_CRFS)),
        help="the product variant's extension CRFs ('' = none)",
    )
    args = parser.parse_args()
    pertitle.PROBE_EXTEND_CRFS = tuple(int(c) for c in args.extend_crfs.split(",") if c)
    ffmpeg = find_ffmpeg()
    runner = FFmpegRunner(ffmpeg)
    fixed = get_ladder_preset(PRESET_LADDER)
    assert fixed is not None
    names = args.variants.split(",")
    print(f"analysis variants, {args.width}x{args.height} {args.duration:g} s clips, preset "
          f"{args.preset}, {args.runs} run(s); load average {os.getloadavg()}")  # fmt: skip
    for kind in args.clips.split(","):
        src = make_clip(ffmpeg, kind, args.width, args.height, args.duration)
        info = probe(src)
        ladder = select_rungs(fixed, info, CUSTOM)
        rungs = list(ladder.video)
        sizes = [(r.width, r.height) for r in rungs]
        video = info.primary_video
        keyint = round((video.fps if video else 25) * ladder.segment_seconds)
        times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        points: dict[str, list[RatePoint]] = {}
        tops = []
        with tempfile.TemporaryDirectory(prefix="pt-analysis-") as tmp:
            for run in range(args.runs):
                for name in names:
                    work = Path(tmp) / f"{name}{run}"
                    opts = options(name, args.preset, keyint)
                    measure = (
                        partial(pertitle.probe_title, runner, str(src), info, rungs, work,
                                opts, 93.0, timeout=3600)
                        if name.startswith("product")
                        else partial(measure_points, runner, str(src), info,
                                     sizes_of(name, sizes), work, timeout=3600, options=opts)
                    )  # fmt: skip
                    wall, cpu, pts = run_variant(name, measure)
                    times[name].append((wall, cpu))
                    points[name] = pts
                tops.append(top_rung_alone(runner, src, fixed, args.preset, Path(tmp)))
        top_cpu = statistics.median(t[1] for t in tops)
        top_wall = statistics.median(t[0] for t in tops)
        print(f"\n[{kind}] top rung alone {top_wall:.1f} s wall / {top_cpu:.1f} s CPU; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        reference = curves(points.get("files", points[names[0]]))
        for name in names:
            wall = statistics.median(t[0] for t in times[name])
            cpu = statistics.median(t[1] for t in times[name])
            chosen: list[RungChoice] = choose_rungs(points[name], rungs, 93.0)
            text = ", ".join(
                f"{c.width}x{c.height} {c.kbps}k {c.predicted_vmaf:.1f}"
                f"/{vmaf_at(reference[(c.width, c.height)], c.kbps):.1f}"
                if (c.width, c.height) in reference
                else f"{c.width}x{c.height} {c.kbps}k {c.predicted_vmaf:.1f}"
                for c in chosen
            )
            print(
                f"  {name:13} {wall:6.1f} s wall {cpu:6.1f} s CPU {cpu / top_cpu:5.2f}x at "
                f"{args.duration:g} s of title ({len(points[name])} probes) | {text}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
