"""Per-title ladder analysis, the FFmpeg half: sampled scenes, probe encodes, VMAF points.

Three FFmpeg runs, whatever the number of sizes and quality levels:

1. **Scenes.** ``scenes`` clips of ``scene_seconds`` spread evenly over the source (centred
   on the k+1/2-th of ``scenes`` equal parts), each read with an input-side seek, joined
   with ``concat`` and stored losslessly (FFV1, the source's pixel format, upright): the
   reference every probe is scored against. A source shorter than all the scenes together
   is taken whole.
2. **Probe encodes.** The sample is decoded once and ``split`` into one branch per size,
   scaled (bicubic) and ``split`` again into one x264 encode per CRF, with the ladder's
   preset and the configured threads (x264 with CRF is reproducible).
3. **Scores.** Every probe against the sample in one ``score_renditions`` run (sample
   decoded once, subsampled as configured).

Each probe gives a ``RatePoint`` (its size, CRF, video kbps and VMAF mean); the decisions
(hull, rung choice) are ``reelflow.planner.pertitle``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reelflow.errors import InvalidMedia
from reelflow.media.encoders import input_thread_args, output_thread_args
from reelflow.media.probe import probe
from reelflow.media.quality import QualityOptions, Rendition, score_renditions
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.media import MediaInfo
from reelflow.specs.pertitle import RatePoint

DEFAULT_CRFS = (20, 26, 32, 38)  # x264: spans VMAF ~98 to ~70 on most content at its size


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How a title is sampled and probed: ``scenes`` clips of ``scene_seconds``; x264 at
    each of ``crfs`` with ``preset`` (the ladder's) and ``threads`` (0 = FFmpeg's choice);
    ``quality`` the scoring options (subsampling, libvmaf threads); ``keyint`` > 0: a
    keyframe every ``keyint`` frames and none at scene cuts, as the ladder encodes (one
    per segment): on easy content the keyframes are most of the bits, so probes without
    them predict a rate the ladder's encode cannot meet."""

    scenes: int = 4
    scene_seconds: float = 2.0
    crfs: tuple[int, ...] = DEFAULT_CRFS
    preset: str = "medium"
    threads: int = 0
    quality: QualityOptions = field(default_factory=QualityOptions)
    keyint: int = 0

    def __post_init__(self) -> None:
        if self.scenes < 1 or self.scene_seconds <= 0 or not self.crfs:
            raise ValueError("at least one scene of a positive length and one CRF")


def scene_starts(duration: float, scenes: int, seconds: float) -> list[tuple[float, float]]:
    """(start, length) of each sampled scene of a ``duration``-second source."""
    if duration <= scenes * seconds:
        return [(0.0, duration)]
    starts = []
    for k in range(scenes):
        centre = duration * (k + 0.5) / scenes
        starts.append((min(max(centre - seconds / 2, 0.0), duration - seconds), seconds))
    return starts


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def build_sample_command(
    source: str, scenes: Sequence[tuple[float, float]], out: Path, threads: int = 0
) -> list[str]:
    """Arguments writing the scenes of ``source``, joined, losslessly to ``out`` (.mkv)."""
    inputs: list[str] = []
    for start, length in scenes:
        inputs += ["-ss", _num(start), "-t", _num(length), "-i", source]
    legs = "".join(f"[{i}:v:0]setpts=PTS-STARTPTS[c{i}];" for i in range(len(scenes)))
    join = "".join(f"[c{i}]" for i in range(len(scenes)))
    graph = f"{legs}{join}concat=n={len(scenes)}:v=1:a=0[sample]"
    return [
        "-y", *input_thread_args(threads), *inputs, "-filter_complex", graph,
        "-map", "[sample]", "-c:v", "ffv1", "-an", "-sn", "-dn", str(out),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProbeEncode:
    width: int
    height: int
    crf: int
    path: Path


def build_probe_command(
    sample: Path, sizes: Sequence[tuple[int, int]], work_dir: Path, options: ProbeOptions
) -> tuple[list[str], list[ProbeEncode]]:
    """Arguments encoding ``sample`` at every size x CRF in one process, and the encodes."""
    crfs = options.crfs
    chains = ["[0:v:0]split=" + str(len(sizes)) + "".join(f"[s{i}]" for i in range(len(sizes)))]
    outputs: list[str] = []
    encodes: list[ProbeEncode] = []
    for i, (width, height) in enumerate(sizes):
        legs = "".join(f"[e{i}_{k}]" for k in range(len(crfs)))
        chains.append(
            f"[s{i}]scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p,"
            f"split={len(crfs)}{legs}"
        )
        for k, crf in enumerate(crfs):
            path = work_dir / f"probe_{width}x{height}_crf{crf}.mp4"
            encodes.append(ProbeEncode(width, height, crf, path))
            if options.keyint > 0:
                outputs += ["-g", str(options.keyint), "-keyint_min", str(options.keyint)]
                outputs += ["-sc_threshold", "0"]
            outputs += [
                "-map", f"[e{i}_{k}]", "-c:v", "libx264", "-preset", options.preset,
                "-profile:v", "high", "-crf", str(crf), *output_thread_args(options.threads),
                "-an", str(path),
            ]  # fmt: skip
    args = ["-y", *input_thread_args(options.threads), "-i", str(sample)]
    return [*args, "-filter_complex", ";".join(chains), *outputs], encodes


def _kbps(path: Path, seconds: float) -> float:
    video = probe(path).primary_video
    if video is not None and video.bitrate:
        return video.bitrate / 1000
    return path.stat().st_size * 8 / 1000 / seconds


def measure_points(
    runner: FFmpegRunner,
    source: str,
    info: MediaInfo,
    sizes: Sequence[tuple[int, int]],
    work_dir: Path,
    *,
    timeout: float,
    options: ProbeOptions | None = None,
    cancel: threading.Event | None = None,
) -> list[RatePoint]:
    """The (size, CRF, kbps, VMAF) points of ``source`` at each of ``sizes`` (module doc).

    Raises:
        InvalidMedia: the source has no video or no duration.
        FFmpegFailed, FFmpegTimeout, JobCancelled: from the runner.
    """
    opts = options or ProbeOptions()
    if info.primary_video is None or not info.duration:
        raise InvalidMedia("per-title analysis needs a video source of known duration")
    if not sizes:
        raise ValueError("no size to probe")
    work_dir.mkdir(parents=True, exist_ok=True)
    sample = work_dir / "sample.mkv"
    scenes = scene_starts(info.duration, opts.scenes, opts.scene_seconds)
    runner.run(
        build_sample_command(source, scenes, sample, opts.threads), timeout=timeout, cancel=cancel
    )
    sample_info = probe(sample)
    seconds = sample_info.duration or sum(length for _, length in scenes)
    args, encodes = build_probe_command(sample, list(dict.fromkeys(sizes)), work_dir, opts)
    runner.run(args, timeout=timeout, cancel=cancel)
    scores = score_renditions(
        runner,
        str(sample),
        sample_info,
        [Rendition(e.path, e.width, e.height) for e in encodes],
        work_dir / "scores",
        timeout=timeout,
        options=opts.quality,
        cancel=cancel,
    )
    return [
        RatePoint(e.width, e.height, e.crf, round(_kbps(e.path, seconds), 2), s.vmaf.mean)
        for e, s in zip(encodes, scores, strict=True)
    ]
