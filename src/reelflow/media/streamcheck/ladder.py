"""What HLS and DASH have in common once their manifests are read: renditions made of segment
references, measured segment by segment, and the rules on segments (readable, keyframe first,
decodable ends, aligned boundaries) and on bitrates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from reelflow.errors import ReelflowError
from reelflow.media.streamcheck.fetch import ByteRange, StreamReader
from reelflow.media.streamcheck.model import Findings, RenditionSummary
from reelflow.media.streamcheck.segments import (
    SegmentFacts,
    decode_problem,
    is_transport_stream,
    measure,
    ts_tables,
)

# How much of a TS file's start is searched for its PAT and PMT (FFmpeg writes them within
# the first three packets).
TS_HEAD = 16 * 188


@dataclass(frozen=True)
class SegmentRef:
    """One segment as a manifest names it. ``label`` names it in a report."""

    location: str
    label: str
    duration: float  # declared (EXTINF, the timeline), seconds
    byterange: ByteRange | None = None
    init: str | None = None
    init_range: ByteRange | None = None
    prepend_tables: bool = False  # an I-frame range inside a TS: put its PAT and PMT first


@dataclass
class Rendition:
    """One rendition: a media playlist or a DASH Representation, and what its segments hold
    once measured (``None`` for a segment that could not be read or demuxed)."""

    name: str
    segments: list[SegmentRef]
    facts: list[SegmentFacts | None] = field(default_factory=list)

    def where(self, index: int) -> str:
        return f"{self.name} {self.segments[index].label}"

    @property
    def measured(self) -> list[SegmentFacts]:
        return [facts for facts in self.facts if facts is not None]

    @property
    def has_video(self) -> bool:
        return any(facts.video_codec for facts in self.measured)

    @property
    def codecs(self) -> tuple[str, ...]:
        return self.measured[0].codecs if self.measured else ()

    @property
    def kind(self) -> str:
        first = self.measured[0] if self.measured else None
        if first is None:
            return "unknown"
        parts = (["video"] if first.video_codec else []) + (["audio"] if first.audio_codecs else [])
        return "+".join(parts)

    def sizes_and_durations(self) -> list[tuple[int, float]]:
        """(bytes, seconds) of each measured segment, by its declared duration (its measured
        one when the manifest declares none)."""
        return [
            (facts.size, ref.duration if ref.duration > 0 else facts.duration)
            for ref, facts in zip(self.segments, self.facts, strict=True)
            if facts is not None
        ]


class SegmentLoader:
    """Reads segments and their initialization sections (each section once)."""

    def __init__(self, reader: StreamReader) -> None:
        self._reader = reader
        self._inits: dict[tuple[str, ByteRange | None], bytes] = {}

    def load(self, ref: SegmentRef) -> tuple[bytes, bytes]:
        """(segment bytes, initialization bytes); ReelflowError when unreadable."""
        init = b""
        if ref.init is not None:
            key = (ref.init, ref.init_range)
            if key not in self._inits:
                self._inits[key] = self._reader.read(ref.init, ref.init_range)
            init = self._inits[key]
        data = self._reader.read(ref.location, ref.byterange)
        offset = ref.byterange.offset if ref.byterange is not None else 0
        if ref.prepend_tables and offset > 0 and is_transport_stream(data):
            head = self._reader.read(ref.location, ByteRange(0, min(TS_HEAD, offset)))
            data = ts_tables(head) + data
        return data, init


def measure_rendition(loader: SegmentLoader, rendition: Rendition, findings: Findings) -> None:
    """Measure every segment of ``rendition``; record ``segment.readable``,
    ``segment.keyframe`` and ``segment.decodable`` (first and last segment)."""
    rendition.facts = []
    last = len(rendition.segments) - 1
    for index, ref in enumerate(rendition.segments):
        where = rendition.where(index)
        try:
            data, init = loader.load(ref)
            facts = measure(data, init)
        except ReelflowError as exc:
            findings.fail("segment.readable", where, exc.message)
            rendition.facts.append(None)
            continue
        rendition.facts.append(facts)
        if facts.starts_with_keyframe is False:
            findings.fail("segment.keyframe", where, "the first video frame is not a keyframe")
        if index in (0, last):
            problem = decode_problem(data, init)
            if problem is not None:
                findings.fail("segment.decodable", where, problem)
    if not rendition.segments:
        findings.fail("segment.readable", rendition.name, "it names no segment")
    findings.passed("segment.readable", rendition.name)
    if rendition.has_video:
        findings.passed("segment.keyframe", rendition.name)
    findings.passed("segment.decodable", rendition.name)


def check_alignment(renditions: list[Rendition], findings: Findings) -> None:
    """``segment.alignment``: each video rendition's segment starts (relative to its first
    segment) equal the first video rendition's within one frame."""
    video = [r for r in renditions if r.has_video and all(f is not None for f in r.facts)]
    if len(video) < 2:
        return
    reference = video[0]
    ref_starts = _relative_starts(reference)
    for other in video[1:]:
        starts = _relative_starts(other)
        frame = max(_frame(reference), _frame(other))
        if len(starts) != len(ref_starts):
            findings.fail(
                "segment.alignment",
                other.name,
                f"{len(starts)} segments, {reference.name} has {len(ref_starts)}",
            )
        for index, (mine, theirs) in enumerate(zip(starts, ref_starts, strict=False)):
            if abs(mine - theirs) > frame + 1e-6:
                findings.fail(
                    "segment.alignment",
                    other.where(index),
                    f"starts at {mine:.3f} s, {reference.where(index)} at {theirs:.3f} s "
                    f"(more than one frame, {frame:.3f} s, apart)",
                )
                break
        findings.passed("segment.alignment", other.name)


def _relative_starts(rendition: Rendition) -> list[float]:
    starts = [facts.start for facts in rendition.measured]
    return [start - starts[0] for start in starts]


def _frame(rendition: Rendition) -> float:
    durations = [f.frame_duration for f in rendition.measured if f.frame_duration]
    return max(durations) if durations else 0.0


def peak_bitrate(segments: list[tuple[int, float]], target: float | None = None) -> int:
    """Peak segment bitrate in bit/s of (bytes, seconds) segments. With an HLS ``target``
    duration it is the RFC 8216 definition: the highest bitrate of any run of contiguous
    segments lasting between 0.5 and 1.5 times the target; without one, of single segments."""
    best = 0.0
    for first in range(len(segments)):
        bits, seconds = 0, 0.0
        for size, duration in segments[first:]:
            bits += size * 8
            seconds += duration
            if target is None or seconds >= 0.5 * target:
                if target is not None and seconds > 1.5 * target:
                    break
                best = max(best, bits / seconds if seconds > 0 else 0.0)
            if target is None:
                break
    if best == 0.0 and segments:  # every run too short or too long: single segments
        return peak_bitrate(segments)
    # Rounded down, as packagers do: a BANDWIDTH equal to the truncated peak is not short.
    return math.floor(best)


def average_bitrate(segments: list[tuple[int, float]]) -> int:
    """Total bits over total duration, bit/s."""
    seconds = sum(duration for _, duration in segments)
    return round(sum(size for size, _ in segments) * 8 / seconds) if seconds > 0 else 0


def buffered_bitrate(segments: list[tuple[int, float]], min_buffer: float) -> int:
    """The lowest delivery rate at which every segment has fully arrived by the time it is
    to play, when playback starts ``min_buffer`` seconds after any segment start (the DASH
    ``@bandwidth`` / ``@minBufferTime`` model, at segment granularity)."""
    needed = 0.0
    for first in range(len(segments)):
        bits, elapsed = 0, 0.0
        for size, duration in segments[first:]:
            bits += size * 8
            window = min_buffer + elapsed
            if window > 0:
                needed = max(needed, bits / window)
            elapsed += duration
    return round(needed)


def summary(
    rendition: Rendition,
    *,
    peak: int,
    average: int,
    declared_bandwidth: int | None = None,
    declared_average: int | None = None,
) -> RenditionSummary:
    first = rendition.measured[0] if rendition.measured else None
    resolution = (first.width, first.height) if first and first.width and first.height else None
    return RenditionSummary(
        name=rendition.name,
        kind=rendition.kind,
        codecs=rendition.codecs,
        segments=len(rendition.segments),
        duration=sum(ref.duration for ref in rendition.segments),
        bandwidth_peak=peak,
        bandwidth_average=average,
        declared_bandwidth=declared_bandwidth,
        declared_average_bandwidth=declared_average,
        resolution=resolution,
        frame_rate=first.frame_rate if first else None,
    )
