"""The frame and keyframe times of a source's video, read from its packets (no decoding):
what :func:`reelflow.media.chunks.plan.plan_chunks` needs for a source whose output keeps
its timestamps (a variable-rate source), and the keyframes any plan prefers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from reelflow.errors import InvalidMedia


@dataclass(frozen=True)
class FrameScan:
    """Sorted presentation times (seconds from the stream's start, as FFmpeg's output
    timeline has them), the keyframes among them, and where the last frame ends."""

    times: tuple[float, ...]
    keyframes: tuple[float, ...]
    end: float


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
    return FrameScan(times=times, keyframes=keys, end=float((last + length) * base) - offset)


__all__ = ["FrameScan", "scan_frames"]
