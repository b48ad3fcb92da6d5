"""Parse FFmpeg's ``-progress pipe:1`` output into typed snapshots.

FFmpeg prints blocks of ``key=value`` lines, each block closed by ``progress=continue``
and the last one by ``progress=end``. This module is pure: it never touches a process,
so the runner feeds it lines and unit tests feed it text.
"""

from __future__ import annotations

from dataclasses import dataclass

_MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress block.

    ``out_time`` is the output position in seconds (never negative), ``frame`` the video
    frames written so far (0 for audio-only outputs), ``fps`` the encoding rate, ``speed``
    the multiple of real time (0.0 while unknown), ``done`` true only for the final block.
    """

    out_time: float = 0.0
    frame: int = 0
    fps: float = 0.0
    speed: float = 0.0
    done: bool = False

    def fraction_of(self, duration: float) -> float:
        """Share of ``duration`` seconds done, clamped to ``[0, 1]``; 1.0 once ``done``."""
        if self.done:
            return 1.0
        if duration <= 0:
            return 0.0
        return min(max(self.out_time / duration, 0.0), 1.0)


class ProgressParser:
    """Accumulates ``key=value`` lines; :meth:`feed` returns a snapshot at each block end.

    Values that are missing, ``N/A`` or unparsable keep the previous block's value, so a
    snapshot never goes back to zero in the middle of a run.
    """

    def __init__(self) -> None:
        self._last = Progress()
        self._pending: dict[str, str] = {}

    @property
    def last(self) -> Progress:
        """The most recent snapshot (all zeros before the first block ends)."""
        return self._last

    def feed(self, line: str) -> Progress | None:
        """Take one line of output; return a :class:`Progress` if it closed a block."""
        key, sep, value = line.partition("=")
        if not sep:
            return None
        key, value = key.strip(), value.strip()
        if key != "progress":
            self._pending[key] = value
            return None
        self._last = self._snapshot(done=value == "end")
        self._pending.clear()
        return self._last

    def _snapshot(self, *, done: bool) -> Progress:
        prev, raw = self._last, self._pending
        out_time = _out_time(raw)
        frame = _int(raw.get("frame"))
        fps = _float(raw.get("fps"))
        speed = _float(raw.get("speed", "").strip().removesuffix("x"))
        return Progress(
            out_time=prev.out_time if out_time is None else max(out_time, 0.0),
            frame=prev.frame if frame is None else frame,
            fps=prev.fps if fps is None else fps,
            speed=prev.speed if speed is None else speed,
            done=done,
        )


def _out_time(raw: dict[str, str]) -> float | None:
    # out_time_ms is in microseconds too (a long-standing FFmpeg naming bug).
    for key in ("out_time_us", "out_time_ms"):
        micros = _int(raw.get(key))
        if micros is not None:
            return micros / _MICROSECONDS
    return _clock(raw.get("out_time"))


def _clock(text: str | None) -> float | None:
    """Parse ``[-]HH:MM:SS.ffffff``."""
    if not text:
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    parts = text.lstrip("-").split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        return None
    return sign * (hours * 3600 + minutes * 60 + seconds)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None  # "N/A" and friends


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None
