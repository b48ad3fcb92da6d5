"""The frame and keyframe times of a source's video, read from its packets (no decoding):
what :func:`reelflow.media.chunks.plan.plan_chunks` needs for a source whose output keeps
its timestamps (a variable-rate source), and the keyframes any plan prefers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from reelflow.errors import InvalidMedia
from reelflow.media.encoders import input_thread_args


@dataclass(frozen=True)
class FrameScan:
    """Sorted presentation times (seconds from the stream's start, as FFmpeg's output
    timeline has them), the keyframes among them, and where the last frame ends."""

    times: tuple[float, ...]
    keyframes: tuple[float, ...]
    end: float
    offset: float = 0.0  # the container's start time, taken off every time above


def scan_frames(path: Path | str) -> FrameScan:
    """Scan the first video stream of ``path``.

    Raises:
        InvalidMedia: not readable, or no video stream with timestamps.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InvalidMedia(f"{path}: no video stream to chunk")
            stream = container.streams.video[0]
            pts: list[tuple[int, bool, int]] = [
                (packet.pts, packet.is_keyframe, packet.duration or 0)
                for packet in container.demux(stream)
                if packet.pts is not None
            ]
            base = stream.time_base
            first = container.start_time  # AV_TIME_BASE units, as FFmpeg subtracts it
    except av.error.FFmpegError as exc:
        raise InvalidMedia(f"{path}: cannot read its video packets: {exc}") from exc
    if not pts or base is None:
        raise InvalidMedia(f"{path}: its video has no timestamps")
    pts.sort()
    offset = (first or 0) / 1_000_000
    times = tuple(float(p * base) - offset for p, _, _ in pts)
    keys = tuple(float(p * base) - offset for p, key, _ in pts if key)
    last, _, length = pts[-1]
    end = float((last + length) * base) - offset
    return FrameScan(times=times, keyframes=keys, end=end, offset=offset)


# scdet's score (0-100: how much the picture changed) from which a frame starts a new shot.
SCENE_THRESHOLD = 10.0
# Scene detection runs on a small picture: a cut is as visible at 160 px as at 4K.
SCENE_WIDTH = 160


def scene_command(
    source: str, start: float, length: float, out: Path, *, threads: int = 0
) -> list[str]:
    """FFmpeg argv that writes to ``out`` the source times (``-copyts``: the stream's own)
    of the scene cuts between ``start`` and ``start + length`` (``scdet`` on a small
    picture; one ``pts_time:`` line per cut)."""
    chain = f"scale={SCENE_WIDTH}:-2,scdet=threshold={SCENE_THRESHOLD:g}:sc_pass=1"
    chain += f",metadata=print:file={out}"
    args = ["-y", *input_thread_args(threads), "-ss", f"{max(0.0, start):.3f}"]
    args += ["-t", f"{length:.3f}", "-copyts", "-i", source, "-map", "0:v:0"]
    return [*args, "-vf", chain, "-an", "-sn", "-dn", "-f", "null", "-"]


def scene_times(printed: str, offset: float = 0.0) -> list[float]:
    """The cut times in ``metadata=print``'s output, on the scan's timeline (``offset``
    taken off)."""
    times = []
    for line in printed.splitlines():
        for field in line.split():
            if field.startswith("pts_time:"):
                times.append(float(field.removeprefix("pts_time:")) - offset)
    return sorted(times)


__all__ = ["SCENE_THRESHOLD", "FrameScan", "scan_frames", "scene_command", "scene_times"]
