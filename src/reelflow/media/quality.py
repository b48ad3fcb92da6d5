"""Score renditions against their source: VMAF, PSNR and SSIM in one FFmpeg process.

Computed the way the VMAF authors prescribe (and the way naive scripts get wrong):

- the source is decoded once and ``split`` into one branch per rendition;
- the reference branch is cut to the rendition's time range (``trim``), restarted at 0
  (``setpts``) and resampled to the rendition's frame rate (``fps``), so that a 30 fps
  source and a 25 fps rendition are compared frame for frame at 25 fps, each rendition
  frame against the source frame shown at the same moment;
- the rendition is restarted at 0, put on the same rate, and upscaled (bicubic) to the
  source's display size (FFmpeg's autorotation turns a rotated source upright first);
- both sides are converted to the same pixel format (``yuv420p``, or ``yuv420p10le`` for a
  source of more than 8 bits);
- each pair goes to ``libvmaf`` (its JSON log has the per-frame scores) and, for the
  frames libvmaf scores, through ``psnr`` -> ``ssim`` (per-frame stats files);
  :func:`read_scores` pools them.

Building the commands is pure: :func:`build_quality_command` scores files already written
(:func:`score_renditions` runs it with an ``FFmpegRunner`` and reads the logs);
:func:`loopback_scoring` adds the same scorers to the command that encodes the renditions
(FFmpeg's loopback decoders ``-dec``: no second decode of the source, no rendition read
back; the transcode job's way). Both use :func:`scoring_graph`; :func:`read_scores` pools.

Graph shape for two renditions::

    [0:v:0] split=2 [s0][s1]
    [s0] trim setpts fps select format split [r0v][r0m]            reference at 25 fps
    [1:v:0] setpts fps select scale(bicubic) format split [d0v][d0m]  rendition upscaled
    [d0v][r0v] libvmaf [o0]                                        -> null
    [r0m] select split [r0a][r0b]; [d0m] select [d0s]              the scored frames
    [d0s][r0a] psnr [p0]; [p0][r0b] ssim, nullsink
    ... the same for [s1] and [2:v:0]

With pictures captured (``capture``, see ``reelflow.media.quality_pictures``), the
rendition's chain splits before its upscale and the source's scored frames split once more::

    [1:v:0] setpts fps select split [u0][c0]; [u0] scale(bicubic) format split [d0v][d0m]
    [c0] select scale(to the pictures' size) [j0]                  -> r0_%d.jpg
    [r0m] select split=3 [r0a][r0b][k0]; [k0] scale [t0]          -> s0_%d.jpg

In the encode's own command the renditions come from ``[dec:0]``, ``[dec:1]``, ... instead
of ``[1:v:0]``, ``[2:v:0]``, and every label is prefixed with ``q``.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

from reelflow.errors import InvalidMedia
from reelflow.media.progress import Progress
from reelflow.media.quality_pictures import Capture, capturable, capture_chain, capture_output
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.media import MediaInfo
from reelflow.specs.quality import QualityScore, VmafScores, WorstFrame, vmaf_model

# The default subsampling (``QualityOptions.subsample`` 0) scores every n-th frame with n
# chosen per rendition so that about AUTO_SCORED_FRAMES frames are scored, never sparser
# than every AUTO_MAX_SUBSAMPLE-th: the error of a subsampled mean shrinks with the number
# of frames scored, the cost with n (VMAF's per-frame features are nearly all of it). A
# score whose 95 % interval is still wider than HALF_WIDTH is scored again, denser (see
# refine_subsample). Measured in bench/quality_bench.py (docs/quality.md, "Subsampling"):
# 40 (n odd: every 13th of the bench's 1080p 20 s clip, 39 frames) is the fewest that
# leaves the default workflow's renditions of that clip within HALF_WIDTH without a second
# scoring. The cap is odd in effect (29, see auto_subsample).
AUTO = 0
AUTO_SCORED_FRAMES = 40
AUTO_MAX_SUBSAMPLE = 30
DEFAULT_THREADS = 2  # libvmaf's threads per rendition (0, its default, is one thread)
# A subsampled mean is trusted when the full mean lies within HALF_WIDTH VMAF of it 19 times
# in 20 (CONFIDENCE_Z standard errors); a wider score is refined (see refine_subsample).
HALF_WIDTH = 0.5
CONFIDENCE_Z = 1.96
SERIES_POINTS = 600  # values kept for a plot of VMAF over time
_PSNR_CAP = 100.0  # dB for identical frames (FFmpeg writes "inf"), as libvmaf caps its own
_HIGH_DEPTH = ("10", "12", "14", "16")


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded output to score: its file, its coded size (which picks the model),
    its frame rate (0 = the source's) and the source time range it was made from
    (``end`` 0 = to the end)."""

    path: Path
    width: int
    height: int
    fps: float = 0.0
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True, slots=True)
class QualityOptions:
    """``subsample``: VMAF every n-th frame (libvmaf's ``n_subsample``; 1 = every frame;
    ``AUTO`` = chosen per rendition, see :func:`auto_subsample`). ``threads``: libvmaf's
    ``n_threads`` per rendition."""

    subsample: int = AUTO
    threads: int = DEFAULT_THREADS

    def __post_init__(self) -> None:
        if self.subsample < 0 or self.threads < 0:
            raise ValueError("subsample and threads cannot be negative")


def auto_subsample(frames: float) -> int:
    """Every n-th of ``frames`` frames so that about ``AUTO_SCORED_FRAMES`` are scored, n
    odd (the next odd number, or the one below the cap).

    An even n scores frames of one parity only, and an encoder's frame types repeat with an
    even period (x264's B-frames: the bench's 720p rendition scored 0.28 VMAF higher on its
    even frames than on its odd ones): every even n then carries that bias, and the
    standard error cannot see it (the scored frames all agree). An odd n alternates.
    """
    n = max(1, min(AUTO_MAX_SUBSAMPLE, int(frames // AUTO_SCORED_FRAMES)))
    if n % 2 == 0:
        n += 1 if n < AUTO_MAX_SUBSAMPLE else -1
    return n


@dataclass(frozen=True, slots=True)
class ScoreLogs:
    """Where one rendition's scorers write: libvmaf's JSON log, psnr's and ssim's stats;
    with the model, the subsampling and the frame rate (FFmpeg's rate text) used; and
    where its scored frames are captured as pictures (``None``: not captured)."""

    model: str
    subsample: int
    vmaf: Path
    psnr: Path
    ssim: Path
    rate: str = "25"
    capture: Capture | None = None


@dataclass(frozen=True, slots=True)
class QualityCommand:
    """Arguments after the binary; ``logs`` in the renditions' order; ``duration`` the
    longest scored range in seconds (for progress)."""

    args: list[str]
    logs: list[ScoreLogs]
    duration: float


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _rate(fps: float, info: MediaInfo) -> str:
    """The frame rate both sides are put on: the rendition's, or the source's exact one."""
    if fps > 0:
        return _num(fps)
    video = info.primary_video
    assert video is not None
    if video.fps_num and video.fps_den:
        return str(Fraction(video.fps_num, video.fps_den))
    if video.fps:
        return _num(video.fps)
    raise InvalidMedia("the source states no frame rate: give the rendition's rate to score it")


def _filter_path(path: Path) -> str:
    """A file path as a filter option value inside ``-filter_complex`` (both escaping
    levels of FFmpeg's filtergraph syntax)."""
    value = str(path)
    for char in ("\\", "'", ":"):
        value = value.replace(char, "\\" + char)
    for char in ("\\", "'", "[", "]", ",", ";"):
        value = value.replace(char, "\\" + char)
    return value


def _triplets(subsample: int) -> tuple[list[str], int]:
    """The frames worth upscaling and comparing when VMAF is wanted on every n-th frame.

    libvmaf's ``n_subsample`` skips the spatial features of the other frames, but its motion
    feature of frame k compares frame k with k-1 and k+1, so every frame is still decoded,
    upscaled, converted and handed over. Only the triplet (k-1, k, k+1) around each scored
    frame k matters: ``select`` keeps those (both sides alike) and libvmaf scores the middle
    one of each (``n_subsample=3`` on the kept stream: frames 0, n, 2n, ... of the rendition,
    with the same scores as ``n_subsample=n`` on every frame, measured equal to the third
    decimal). Below 4 there is nothing to drop.
    """
    if subsample <= 3:
        return [], subsample
    return [f"select='lt(mod(n+1\\,{subsample})\\,3)'"], 3


def pixel_format(info: MediaInfo) -> str:
    """The format both sides are compared in: 8-bit 4:2:0, or 10-bit for a deeper source."""
    video = info.primary_video
    fmt = (video.pix_fmt if video else None) or ""
    return "yuv420p10le" if any(d in fmt for d in _HIGH_DEPTH) else "yuv420p"


@dataclass(frozen=True, slots=True)
class ScoringGraph:
    """The scorers' filter graph for some renditions: ``chains`` read the source from
    ``[0:v:0]`` and each rendition from its input label, and end at ``outputs`` (to map to
    a ``null`` output) and ``pictures`` (label, image2 pattern: the captured frames, to map
    to JPEG files); ``logs`` in the renditions' order; ``duration`` the longest scored
    range in seconds."""

    chains: list[str]
    outputs: list[str]
    logs: list[ScoreLogs]
    duration: float
    pictures: list[tuple[str, Path]] = field(default_factory=list)


def scoring_graph(
    info: MediaInfo,
    renditions: Sequence[Rendition],
    inputs: Sequence[str],
    work_dir: Path,
    options: QualityOptions | None = None,
    *,
    prefix: str = "",
    capture: Path | None = None,
) -> ScoringGraph:
    """The graph comparing each rendition (its decoded frames at the input label of the same
    rank in ``inputs``, e.g. ``[1:v:0]`` or a loopback decoder's ``[dec:0]``) with the
    source (``[0:v:0]``, decoded once, ``split``); see the module doc. ``prefix`` starts
    every link label (the graph can sit beside another one in the same command).

    ``capture``: a folder (existing before the run) where the scored frames of each
    rendition that has at most ``CAPTURE_MAX_FRAMES`` of them are written as the worst
    moment's candidate pictures, both sides (``reelflow.media.quality_pictures``): the
    rendition's frames branch off before the upscale to the compared size (the pictures
    are upscaled straight to their own size), the source's after the scorers' ``select``;
    renditions compared over the same range at the same rate and subsampling share the
    source's pictures."""
    opts = options or QualityOptions()
    video = info.primary_video
    if video is None:
        raise InvalidMedia("the source has no video stream to score against")
    if not renditions:
        raise ValueError("no rendition to score")
    width, height = video.display_width, video.display_height
    fmt = pixel_format(info)
    q = prefix
    branches = [f"{q}s{i}" for i in range(len(renditions))]
    chains = ["[0:v:0]split=" + str(len(branches)) + "".join(f"[{b}]" for b in branches)]
    logs: list[ScoreLogs] = []
    outputs: list[str] = []
    pictures: list[tuple[str, Path]] = []
    shared: dict[tuple[float, float, str, int], Path] = {}  # source frames captured
    length = 0.0
    for i, (rendition, label) in enumerate(zip(renditions, inputs, strict=True)):
        rate = _rate(rendition.fps, info)
        seconds = max((rendition.end or info.duration or 0.0) - rendition.start, 0.0)
        length = max(length, seconds)
        subsample = opts.subsample or auto_subsample(seconds * float(Fraction(rate)))
        keep, n_subsample = _triplets(subsample)
        # PSNR and SSIM on the frames VMAF scores (libvmaf's n_subsample picks 0, n, 2n...).
        scored = [] if n_subsample == 1 else [f"select='not(mod(n\\,{n_subsample}))'"]
        grab: Capture | None = None
        own = False  # this rendition's source branch captures the source's frames
        if capture is not None and capturable(seconds, rate, subsample):
            key = (rendition.start, rendition.end, rate, subsample)
            own = key not in shared
            if own:
                shared[key] = capture / f"s{i}_%d.jpg"
            grab = Capture(capture, capture / f"r{i}_%d.jpg", shared[key], subsample)
        ref = []
        if rendition.start or rendition.end:
            end = f":end={_num(rendition.end)}" if rendition.end else ""
            ref.append(f"trim=start={_num(rendition.start)}{end}")
        ref += ["setpts=PTS-STARTPTS", f"fps={rate}", *keep, f"format={fmt}", "split=2"]
        chains.append(f"[{q}s{i}]" + ",".join(ref) + f"[{q}r{i}v][{q}r{i}m]")
        head = f"{label}setpts=PTS-STARTPTS,fps={rate},{''.join(k + ',' for k in keep)}"
        upscale = (
            f"scale={width}:{height}:flags=bicubic,format={fmt},setsar=1,"
            f"split=2[{q}d{i}v][{q}d{i}m]"
        )
        chains += _scored_chains(info, f"{q}%s{i}", head, upscale, scored, grab, own, pictures)
        chains.append(f"[{q}d{i}m]" + (",".join(scored) or "null") + f"[{q}d{i}s]")
        model = vmaf_model(rendition.width, rendition.height)
        log = ScoreLogs(
            model=model,
            subsample=subsample,
            vmaf=work_dir / f"quality{i}.json",
            psnr=work_dir / f"quality{i}.psnr",
            ssim=work_dir / f"quality{i}.ssim",
            rate=rate,
            capture=grab,
        )
        logs.append(log)
        chains.append(f"[{q}d{i}s][{q}r{i}a]psnr=stats_file={_filter_path(log.psnr)}[{q}p{i}]")
        chains.append(f"[{q}p{i}][{q}r{i}b]ssim=stats_file={_filter_path(log.ssim)},nullsink")
        chains.append(
            f"[{q}d{i}v][{q}r{i}v]libvmaf=model=version={model}:log_fmt=json"
            f":log_path={_filter_path(log.vmaf)}:n_subsample={n_subsample}"
            f":n_threads={opts.threads}:shortest=1[{q}o{i}]"
        )
        outputs.append(f"[{q}o{i}]")
    return ScoringGraph(
        chains=chains, outputs=outputs, logs=logs, duration=length, pictures=pictures
    )


def _scored_chains(
    info: MediaInfo,
    name: str,
    head: str,
    upscale: str,
    scored: list[str],
    grab: Capture | None,
    own: bool,
    pictures: list[tuple[str, Path]],
) -> list[str]:
    """The rendition's chain from ``head`` (its frames, up to its triplets) through
    ``upscale`` (to the compared size, split for the scorers), and the source's scored
    frames split for PSNR and SSIM; with ``grab``'s capture branches, added to ``pictures``
    (the source's too when ``own``). ``name``: the labels, ``%s`` standing for the kind."""
    if grab is None:
        chains = [head + upscale]
    else:
        chains = [head + f"split=2[{name % 'u'}][{name % 'c'}]"]
        chains.append(f"[{name % 'u'}]" + upscale)
        inlet = f"[{name % 'c'}]" + "".join(k + "," for k in scored)
        chains.append(capture_chain(info, inlet, f"[{name % 'j'}]"))
        pictures.append((f"[{name % 'j'}]", grab.rendition))
    chains.append(
        f"[{name % 'r'}m]"
        + ",".join([*scored, f"split={3 if own else 2}"])
        + f"[{name % 'r'}a][{name % 'r'}b]"
        + (f"[{name % 'k'}]" if own else "")
    )
    if grab is not None and own:
        chains.append(capture_chain(info, f"[{name % 'k'}]", f"[{name % 't'}]"))
        pictures.append((f"[{name % 't'}]", grab.source))
    return chains


def _null_output(graph: ScoringGraph) -> list[str]:
    """The filter graph, the ``null`` output its scorers' ends go to, and the captured
    pictures' outputs."""
    maps = [arg for label in graph.outputs for arg in ("-map", label)]
    images = [arg for label, pattern in graph.pictures for arg in capture_output(label, pattern)]
    return ["-filter_complex", ";".join(graph.chains), *maps, "-f", "null", "-", *images]


def build_quality_command(
    source: str,
    info: MediaInfo,
    renditions: Sequence[Rendition],
    work_dir: Path,
    options: QualityOptions | None = None,
    *,
    capture: Path | None = None,
) -> QualityCommand:
    """One FFmpeg invocation scoring every rendition against ``source`` (see module doc;
    ``capture``: see :func:`scoring_graph`)."""
    inputs = [f"[{i + 1}:v:0]" for i in range(len(renditions))]
    graph = scoring_graph(info, renditions, inputs, work_dir, options, capture=capture)
    files = [arg for r in renditions for arg in ("-i", str(r.path))]
    args = ["-y", "-i", source, *files, *_null_output(graph)]
    return QualityCommand(args=args, logs=graph.logs, duration=graph.duration)


def loopback_scoring(
    encode_args: Sequence[str],
    info: MediaInfo,
    renditions: Sequence[Rendition],
    streams: Sequence[tuple[int, int]],
    work_dir: Path,
    options: QualityOptions | None = None,
    *,
    capture: Path | None = None,
) -> QualityCommand:
    """``encode_args`` (a command encoding the renditions from the source, its input 0)
    with the scoring of each rendition added to the same process: FFmpeg's loopback
    decoders (``-dec``, FFmpeg 7 and later) decode each encoder's packets as they come out
    (``streams``: the rendition's output file and stream index in ``encode_args``) and the
    scorers take the source's frames from the very decode that feeds the encoders. The
    source is neither read nor decoded again and the renditions are never read back from
    disk; the scores are the same as :func:`build_quality_command`'s on the written files.
    The renditions' ``path`` must be the files ``encode_args`` writes (a worst moment's
    pictures not captured in ``capture``, see :func:`scoring_graph`, are drawn from them
    afterwards)."""
    inputs = [f"[dec:{k}]" for k in range(len(renditions))]
    graph = scoring_graph(info, renditions, inputs, work_dir, options, prefix="q",
                          capture=capture)  # fmt: skip
    decoders = [arg for out, stream in streams for arg in ("-dec", f"{out}:{stream}")]
    args = [*encode_args, *decoders, *_null_output(graph)]
    return QualityCommand(args=args, logs=graph.logs, duration=graph.duration)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of non-empty ``values``."""
    ordered = sorted(values)
    pos = fraction * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def series(values: Sequence[float], points: int = SERIES_POINTS) -> list[float]:
    """At most ``points`` values for a plot: each bucket's minimum, so a dip survives."""
    if len(values) <= points:
        return [round(v, 2) for v in values]
    out = []
    for k in range(points):
        lo = k * len(values) // points
        hi = (k + 1) * len(values) // points
        out.append(round(min(values[lo:hi]), 2))
    return out


def standard_error(scored: Sequence[float], subsample: int) -> float:
    """The standard error of the mean of ``scored`` (every ``subsample``-th frame's VMAF,
    in order) as an estimate of the mean over every frame.

    The frames are a systematic sample, not a random one: the textbook s / sqrt(k) counts
    every difference between scenes as noise (on a title with scene cuts it is several
    times the real error). The successive-difference estimator counts only the changes
    between neighbouring scored frames (Wolter, *Introduction to Variance Estimation*,
    v2): Var = (1 - 1/n) * sum((y[j] - y[j-1])^2) / (2 k (k - 1)), with n the subsampling
    (1 - 1/n: the share of frames not scored; 0 when every frame was) and k the frames.
    """
    k = len(scored)
    if subsample <= 1 or k < 2:
        return 0.0
    diffs = sum((b - a) ** 2 for a, b in pairwise(scored))
    return math.sqrt((1 - 1 / subsample) * diffs / (2 * k * (k - 1)))


def refine_subsample(score: QualityScore) -> int | None:
    """A denser subsampling for a score whose 95 % interval (``CONFIDENCE_Z`` standard
    errors) is wider than ``HALF_WIDTH`` VMAF, ``None`` when it is narrow enough (or every
    frame was scored, or the error is unknown).

    The standard error falls at least as 1 / sqrt(frames scored) (noise-like content; as
    1 / frames where it comes from a few scene cuts), so scoring (width / HALF_WIDTH)^2
    times as many frames brings the interval within ``HALF_WIDTH``: every n-th frame becomes
    every n / (width / HALF_WIDTH)^2-th (1: all of them, the usual answer on a title with
    scene cuts, whose scenes differ by tens of VMAF).
    """
    width = CONFIDENCE_Z * (score.vmaf.std_err or 0.0)
    if score.subsample <= 1 or width <= HALF_WIDTH:
        return None
    return max(1, int(score.subsample / (width / HALF_WIDTH) ** 2))


def _stats(path: Path, key: str) -> list[float]:
    """One ``key:value`` column of a psnr/ssim stats file (``inf`` capped)."""
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for item in line.split():
            name, _, raw = item.partition(":")
            if name == key:
                values.append(min(float(raw), _PSNR_CAP))
    return values


def read_scores(command: QualityCommand) -> list[QualityScore]:
    """Pool the logs of a finished run, one score per rendition.

    Raises:
        InvalidMedia: a log is missing or holds no frame (nothing was compared: a rendition
            without frames in its range).
    """
    scores = []
    for logs in command.logs:
        try:
            data = json.loads(logs.vmaf.read_text(encoding="utf-8"))
            psnr = _stats(logs.psnr, "psnr_avg")
            ssim = _stats(logs.ssim, "All")
        except (OSError, ValueError) as exc:
            raise InvalidMedia(f"the quality scorer left no readable log: {exc}") from exc
        frames = [float(f["metrics"]["vmaf"]) for f in data.get("frames", [])]
        if not frames or not psnr or not ssim:
            raise InvalidMedia("no frame of the rendition could be compared with the source")
        pooled = data.get("pooled_metrics", {}).get("vmaf", {})
        # Scored frame k is the rendition's frame k * subsample (see _triplets).
        interval = logs.subsample / float(Fraction(logs.rate))
        worst = min(range(len(frames)), key=frames.__getitem__)
        scores.append(
            QualityScore(
                model=logs.model,
                subsample=logs.subsample,
                frames=len(frames),
                vmaf=VmafScores(
                    mean=round(pooled.get("mean", sum(frames) / len(frames)), 3),
                    harmonic_mean=round(
                        pooled.get("harmonic_mean", _harmonic(frames)),
                        3,
                    ),
                    min=round(min(frames), 3),
                    p1=round(percentile(frames, 0.01), 3),
                    std_err=round(standard_error(frames, logs.subsample), 3),
                ),
                psnr_mean=round(sum(psnr) / len(psnr), 3),
                ssim_mean=round(sum(ssim) / len(ssim), 5),
                series=series(frames),
                interval=round(interval, 6),
                worst=WorstFrame(time=round(worst * interval, 3), vmaf=round(frames[worst], 3)),
            )
        )
    return scores


def _harmonic(values: Sequence[float]) -> float:
    """libvmaf's harmonic mean: shifted by 1 so that a frame scoring 0 stays finite."""
    return len(values) / sum(1.0 / (v + 1.0) for v in values) - 1.0


def score_renditions(
    runner: FFmpegRunner,
    source: str,
    info: MediaInfo,
    renditions: Sequence[Rendition],
    work_dir: Path,
    *,
    timeout: float,
    options: QualityOptions | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> list[QualityScore]:
    """Score every rendition against ``source`` in one FFmpeg run (source decoded once).

    Raises:
        FFmpegFailed, FFmpegTimeout, JobCancelled: from the runner.
        InvalidMedia: nothing could be compared (see :func:`read_scores`).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    command = build_quality_command(source, info, renditions, work_dir, options)
    runner.run(command.args, timeout=timeout, cancel=cancel, on_progress=on_progress)
    return read_scores(command)
