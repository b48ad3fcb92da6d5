"""How values read on the console's pages: times, sizes, durations, kinds and states."""

from __future__ import annotations

from datetime import UTC, datetime

from reelflow.specs.subtasks import SubTaskKind
from reelflow.specs.templates import TemplateKind

KIND_LABELS: dict[str, str] = {
    SubTaskKind.TRANSCODE.value: "Transcode",
    SubTaskKind.SNAPSHOT.value: "Screenshots",
    SubTaskKind.SAMPLE_SNAPSHOT.value: "Sampled screenshots",
    SubTaskKind.IMAGE_SPRITE.value: "Image sprite",
    SubTaskKind.ANIMATED_GRAPHICS.value: "Animated image",
    SubTaskKind.ADAPTIVE.value: "Adaptive streaming",
    SubTaskKind.EDIT.value: "Clip and join",
    TemplateKind.WATERMARK.value: "Watermark",
    TemplateKind.IMAGE_SPRITE.value: "Image sprite",
    TemplateKind.ANIMATED_GRAPHICS.value: "Animated image",
}

_UNITS = ("B", "KB", "MB", "GB", "TB")


def kind_label(kind: object) -> str:
    value = str(getattr(kind, "value", kind))
    return KIND_LABELS.get(value, value)


def size(value: int | float | None) -> str:
    """``1536`` -> ``1.5 KB`` (powers of 1024)."""
    if value is None:
        return ""
    amount = float(value)
    for unit in _UNITS:
        if amount < 1024 or unit == _UNITS[-1]:
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TB"  # not reached


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def when(moment: datetime | None) -> str:
    """``2025-03-01 14:05:09 UTC``."""
    if moment is None:
        return ""
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``."""
    if moment is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - _aware(moment)).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60)} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} d ago"


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long between two moments: ``850 ms``, ``12.4 s``, ``3 min 5 s``."""
    if start is None or end is None:
        return ""
    seconds = (_aware(end) - _aware(start)).total_seconds()
    return seconds_text(seconds)


def seconds_text(seconds: float) -> str:
    if 0 < seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f}".removesuffix(".0") + " s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
