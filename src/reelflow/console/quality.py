"""A scored rendition on the task page (issue 18): its scores, VMAF over time as SVG
geometry (drawn server-side from the stored series: no script, no chart library), and its
worst moment's two pictures (stored next to the rendition by the job)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reelflow.console.pages import object_url
from reelflow.specs.quality import PerTitleRung, QualityScore, RungScore

WIDTH = 600
HEIGHT = 140
LEFT = 34  # room for the VMAF labels
RIGHT = 8
TOP = 8
BOTTOM = 22  # room for the time labels


@dataclass(frozen=True)
class Tick:
    position: float  # x or y in the plot's coordinates
    label: str


@dataclass(frozen=True)
class VmafPlot:
    """VMAF over time as an SVG ``polyline`` in a ``WIDTH`` x ``HEIGHT`` view box, with the
    worst moment marked."""

    width: int
    height: int
    left: int
    right: float  # x of the plot's right edge
    baseline: float  # y of the lowest VMAF shown
    points: str  # the polyline's ``points``
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    worst_x: float
    worst_y: float
    label: str  # the plot's accessible description


@dataclass(frozen=True)
class PerTitleView:
    """What a per-title rung's panel says of its choice (the task's ``PerTitle`` item)."""

    target: float  # the VMAF the rung aimed at
    predicted: float  # the probes' prediction at the chosen bitrate
    achieved: float  # the full output's VMAF mean
    verdict: str  # "on target" (within 1 VMAF) / "1.4 under target" / "2.0 over target"
    fixed_kbps: int  # the fixed ladder's bitrate for the rung (0: none)
    saved: str  # "saved 420 kbps (17 %)" / "spent 300 kbps more (+12 %)" / ""
    history: str  # "re-encoded: first encode 88.7" / "a re-encode at 90.1 was not kept" / ""


@dataclass(frozen=True)
class QualityPanel:
    label: str  # "" for a rendition; a ladder's rung: "720p · 3000 kbps"
    score: QualityScore
    plot: VmafPlot | None
    worst_text: str  # "VMAF 81.7 at 0.8 s"
    frame_url: str  # "" when the pictures were not stored
    source_frame_url: str
    per_title: PerTitleView | None = None


def moment(seconds: float) -> str:
    """A moment of a video: ``0.8 s``, ``12.04 s``, ``1:02.5``."""
    if seconds < 60:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def vmaf_plot(score: QualityScore) -> VmafPlot | None:
    """The plot of ``score.series`` (``None`` with fewer than two points). The y axis runs
    from 100 down to the next multiple of 10 under the minimum (so that small dips are
    seen), the x axis over the scored span in seconds (point index when the interval is
    not known)."""
    values = score.series
    if len(values) < 2:
        return None
    floor = max(0.0, min(90.0, math.floor(min(values) / 10) * 10))
    right = float(WIDTH - RIGHT)
    baseline = float(HEIGHT - BOTTOM)
    step = (right - LEFT) / (len(values) - 1)

    def y(value: float) -> float:
        return round(TOP + (100.0 - value) * (baseline - TOP) / (100.0 - floor), 1)

    points = " ".join(f"{round(LEFT + i * step, 1)},{y(v)}" for i, v in enumerate(values))
    y_ticks = tuple(Tick(y(v), f"{v:g}") for v in (100.0, (100.0 + floor) / 2, floor))
    # Each point stands for this many seconds (a bucket of frames when the series was cut).
    span = score.interval * score.frames if score.interval else 0.0
    per_point = span / len(values) if span else 0.0
    last = len(values) - 1
    x_ticks = tuple(
        Tick(
            round(LEFT + f * (right - LEFT), 1),
            moment(f * per_point * last) if per_point else f"#{round(f * last)}",
        )
        for f in (0.0, 0.5, 1.0)
    )
    low = min(range(len(values)), key=values.__getitem__)
    worst_x, worst_y = round(LEFT + low * step, 1), y(values[low])
    label = f"VMAF over time: mean {score.vmaf.mean:.1f}, lowest {min(values):.1f}" + (
        f" over {moment(span)}" if span else ""
    )
    return VmafPlot(
        WIDTH, HEIGHT, LEFT, right, baseline, points, y_ticks, x_ticks, worst_x, worst_y, label
    )


def quality_panels(score: QualityScore | None, rungs: Sequence[RungScore]) -> list[QualityPanel]:
    """What the task page shows of a sub-task's scores: a rendition's, or one per scored
    rung of a ladder; none when nothing was scored."""
    panels = [
        quality_panel(
            rung.score,
            f"{rung.height}p · " + (f"{rung.bitrate} kbps" if rung.bitrate else "constant quality"),
            per_title_view(rung),
        )
        for rung in rungs
    ]
    chosen = score.per_title if score is not None else None
    single = quality_panel(
        score,
        per_title=per_title_lines(chosen, score.vmaf.mean, chosen.bitrate)
        if score is not None and chosen is not None
        else None,
    )
    return [p for p in (*panels, single) if p is not None]


def per_title_view(rung: RungScore) -> PerTitleView | None:
    """The panel's lines for a rung chosen per title; ``None`` for a fixed rung. The
    verdict uses the job's own rule: a rung more than 1 VMAF off its target misses it."""
    chosen: PerTitleRung | None = rung.per_title
    if chosen is None:
        return None
    return per_title_lines(chosen, rung.score.vmaf.mean, rung.bitrate)


def per_title_lines(chosen: PerTitleRung, achieved: float, bitrate: int) -> PerTitleView:
    """The panel's lines for a rendition chosen per title (a ladder's rung, a transcode of
    a per-title set) that scored ``achieved`` at ``bitrate`` kbps."""
    off = achieved - chosen.target_vmaf
    side = "over" if off > 0 else "under"
    verdict = "on target" if abs(off) <= 1.0 else f"{abs(off):.1f} {side} target"
    saved = ""
    fixed = chosen.fixed_bitrate
    if fixed and bitrate:
        delta = fixed - bitrate
        share = round(100 * delta / fixed)
        saved = (
            f"saved {delta} kbps ({share} %)"
            if delta >= 0
            else f"spent {-delta} kbps more (+{-share} %)"
        )
    history = ""
    if chosen.reencoded and chosen.first_vmaf is not None:
        history = f"re-encoded: the first encode scored {chosen.first_vmaf:.1f}"
    elif chosen.discarded_vmaf is not None:
        history = f"a re-encode scored {chosen.discarded_vmaf:.1f} and was not kept"
    return PerTitleView(
        chosen.target_vmaf, chosen.predicted_vmaf, achieved, verdict, fixed, saved, history
    )


def quality_panel(
    score: QualityScore | None, label: str = "", per_title: PerTitleView | None = None
) -> QualityPanel | None:
    """What the task page shows of a rendition's score; ``None``: not scored."""
    if score is None:
        return None
    worst = score.worst
    text = frame = source = ""
    if worst is not None:
        text = f"VMAF {worst.vmaf:.1f} at {moment(worst.time)}"
        if worst.frame_key and worst.source_key:
            frame = object_url(worst.bucket, worst.frame_key)
            source = object_url(worst.bucket, worst.source_key)
    return QualityPanel(label, score, vmaf_plot(score), text, frame, source, per_title)
