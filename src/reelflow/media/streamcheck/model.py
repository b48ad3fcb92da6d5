"""What a ladder check found: one :class:`RuleResult` per rule and place, and what was measured
per rendition. Frozen dataclasses, rendered as text or JSON by the caller (the CLI, a result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every rule the checker applies, by its stable id: a result, an error code or a test names
# a rule by this id, never by its message. docs/streaming.md lists the same table.
RULES: dict[str, str] = {
    "hls.master.bandwidth": "every variant declares BANDWIDTH >= its measured peak segment bitrate",
    "hls.master.average-bandwidth": (
        "every variant declares AVERAGE-BANDWIDTH within 10% of its measured average bitrate"
    ),
    "hls.master.codecs": "every variant declares CODECS matching the streams of its segments",
    "hls.master.resolution": "every video variant declares RESOLUTION equal to its frame size",
    "hls.master.frame-rate": "every video variant declares FRAME-RATE equal to its frame rate",
    "hls.master.iframes": (
        "every video rendition has an I-frame playlist (EXT-X-I-FRAME-STREAM-INF)"
    ),
    "hls.iframe.keyframe": "every entry of an I-frame playlist starts with a keyframe",
    "hls.media.target-duration": (
        "EXT-X-TARGETDURATION >= every segment's EXTINF rounded to the nearest second"
    ),
    "hls.media.independent-segments": (
        "EXT-X-INDEPENDENT-SEGMENTS in the media playlist (or the master)"
    ),
    "hls.media.segment-duration": "no segment lasts longer than the target duration + 0.5 s",
    "dash.bandwidth": (
        "@bandwidth covers the measured segments under the MPD's minBufferTime buffer model"
    ),
    "dash.codecs": "every Representation's @codecs matches the streams of its segments",
    "dash.resolution": "every video Representation declares @width/@height equal to its frames",
    "dash.segment-duration": (
        "no segment lasts longer than the longest declared segment duration + 0.5 s"
    ),
    "segment.readable": (
        "every playlist, segment and initialization section can be read and demuxed"
    ),
    "segment.keyframe": "every video segment starts with a keyframe",
    "segment.alignment": "segment boundaries line up across video renditions within one frame",
    "segment.decodable": "the first and the last segment of every rendition decode",
}

# A variant's declared AVERAGE-BANDWIDTH may differ this much from the measured average.
AVERAGE_TOLERANCE = 0.10
# How much longer than its target (HLS) or declared maximum (DASH) a segment may last.
DURATION_SLACK = 0.5


@dataclass(frozen=True)
class RuleResult:
    """One rule applied at one place (``where``: a playlist, a rendition, a segment)."""

    rule: str
    where: str
    passed: bool
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "where": self.where,
            "passed": self.passed,
            "message": self.message,
        }


@dataclass(frozen=True)
class RenditionSummary:
    """What was declared for, and measured on, one rendition (a media playlist, a DASH
    Representation). Bitrates are bits per second over the segments' declared durations; an
    HLS variant's include its AUDIO group's heaviest rendition, as its BANDWIDTH must."""

    name: str
    kind: str  # "video", "audio" or "video+audio"
    codecs: tuple[str, ...]
    segments: int
    duration: float  # seconds, the sum of the declared segment durations
    bandwidth_peak: int
    bandwidth_average: int
    declared_bandwidth: int | None = None
    declared_average_bandwidth: int | None = None
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "codecs": list(self.codecs),
            "segments": self.segments,
            "duration": round(self.duration, 3),
            "bandwidth_peak": self.bandwidth_peak,
            "bandwidth_average": self.bandwidth_average,
            "declared_bandwidth": self.declared_bandwidth,
            "declared_average_bandwidth": self.declared_average_bandwidth,
            "resolution": list(self.resolution) if self.resolution else None,
            "frame_rate": self.frame_rate,
        }


@dataclass(frozen=True)
class StreamCheck:
    """The outcome of checking one ladder: ``passed`` when no rule failed."""

    source: str
    format: str  # "hls" or "dash"
    results: tuple[RuleResult, ...]
    renditions: tuple[RenditionSummary, ...] = ()

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def failed_rules(self) -> set[str]:
        """The ids of the rules that failed at least once."""
        return {result.rule for result in self.failures}

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "passed": self.passed,
            "failures": [
                {"rule": r.rule, "where": r.where, "message": r.message} for r in self.failures
            ],
            "results": [result.as_dict() for result in self.results],
            "renditions": [rendition.as_dict() for rendition in self.renditions],
        }


@dataclass
class Findings:
    """Collects results while a checker runs; a rule that never failed at a place is one
    passing result there."""

    results: list[RuleResult] = field(default_factory=list)

    def fail(self, rule: str, where: str, message: str) -> None:
        assert rule in RULES, rule
        self.results.append(RuleResult(rule, where, False, message))

    def check(self, rule: str, where: str, ok: bool, message: str = "") -> None:
        """Record ``rule`` at ``where``: passed when ``ok``, else failed with ``message``."""
        assert rule in RULES, rule
        self.results.append(RuleResult(rule, where, ok, "" if ok else message))

    def passed(self, rule: str, where: str) -> None:
        """Record a pass at ``where`` unless ``rule`` already failed there or below it."""
        assert rule in RULES, rule
        if not any(
            r.rule == rule and (r.where == where or r.where.startswith(where + " "))
            for r in self.results
        ):
            self.results.append(RuleResult(rule, where, True))

    def ordered(self) -> tuple[RuleResult, ...]:
        """Failures first, then passes; each group in the order found."""
        return tuple(r for r in self.results if not r.passed) + tuple(
            r for r in self.results if r.passed
        )
