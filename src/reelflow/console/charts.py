"""The dashboard's throughput chart: bars of finished tasks per hour, as SVG geometry."""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.console.stats import HourBar

WIDTH = 600
HEIGHT = 170
TOP = 14
BOTTOM = 26  # room for the hour labels
LEFT = 8
GAP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float
    label: str  # the hour, "14:00"
    title: str  # the tooltip
    show_label: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    peak: int
    bars: tuple[Bar, ...]


def throughput_chart(hours: list[HourBar]) -> Chart:
    peak = max([bar.total for bar in hours] + [1])
    usable = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(1, len(hours))
    baseline = float(HEIGHT - BOTTOM)
    bars = []
    for i, hour in enumerate(hours):
        ok_height = usable * hour.succeeded / peak
        failed_height = usable * hour.failed / peak
        ok_y = baseline - ok_height
        label = hour.start.strftime("%H:00")
        bars.append(
            Bar(
                x=round(LEFT + i * slot + GAP / 2, 1),
                width=round(slot - GAP, 1),
                ok_y=round(ok_y, 1),
                ok_height=round(ok_height, 1),
                failed_y=round(ok_y - failed_height, 1),
                failed_height=round(failed_height, 1),
                label=label,
                title=f"{label} UTC: {hour.succeeded} succeeded, {hour.failed} failed",
                show_label=i % 2 == (len(hours) - 1) % 2,
            )
        )
    return Chart(WIDTH, HEIGHT, baseline, peak, tuple(bars))
