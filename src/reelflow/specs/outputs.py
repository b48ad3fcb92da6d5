"""What a sub-task made: typed results, one kind per sub-task kind.

A job reports each successful sub-task's result (``SubTaskOutcome.output``) as one of these
records; they cross the executor boundary as JSON (``JobResult``) and the engine stores the
compatible API's output item rendered from them (``reelflow.compat.outputs``). Keys are
object keys in ``bucket`` (no leading slash); times are seconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelflow.specs.media import MediaInfo
from reelflow.specs.packages import RenditionReport
from reelflow.specs.quality import QualityScore, RungScore


class OutputRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OutputFile(OutputRecord):
    """One stored object: its size and MD5 as stored, and what a probe of it found."""

    bucket: str
    key: str
    size: int
    md5: str
    media: MediaInfo | None = None


class TranscodeResult(OutputRecord):
    """A rendition: its main file (for HLS the playlist: its own size and MD5) and, for
    HLS, ``total_size``: the playlist and every segment. ``container`` is the template's,
    reported when the probe names none."""

    kind: Literal["Transcode"] = "Transcode"
    definition: int
    file: OutputFile
    container: str
    quality: QualityScore | None = None  # when the task asked for scores (issue 18)
    total_size: int | None = None  # HLS: playlist + segments, in bytes; None: one file


class SnapshotImage(OutputRecord):
    key: str
    time: float  # the requested offset it shows


class SnapshotResult(OutputRecord):
    """Screenshots at given offsets; ``watermarks`` are the watermark definitions drawn."""

    kind: Literal["SnapshotByTimeOffset"] = "SnapshotByTimeOffset"
    definition: int
    bucket: str
    images: list[SnapshotImage]
    watermarks: list[int] = []


class SampleSnapshotResult(OutputRecord):
    """Sampled screenshots, one every ``interval`` (percent or seconds, ``sample_type``)."""

    kind: Literal["SampleSnapshot"] = "SampleSnapshot"
    definition: int
    bucket: str
    sample_type: str
    interval: int
    keys: list[str]
    watermarks: list[int] = []


class ImageSpriteResult(OutputRecord):
    """Sprite sheets of ``total_count`` cells of ``width`` x ``height``, and their WebVTT."""

    kind: Literal["ImageSprites"] = "ImageSprites"
    definition: int
    bucket: str
    width: int
    height: int
    total_count: int
    keys: list[str]
    vtt_key: str


class AnimatedResult(OutputRecord):
    """An animated image of the source's ``[start, end]``; ``container`` is its format."""

    kind: Literal["AnimatedGraphics"] = "AnimatedGraphics"
    definition: int
    file: OutputFile
    container: str
    width: int
    height: int
    bitrate: int
    start: float
    end: float


class CheckFailure(OutputRecord):
    """One failed rule of ``reelflow check-stream`` (ids: docs/streaming.md) and where."""

    rule: str
    where: str
    message: str


class CheckedRendition(OutputRecord):
    """A rendition as the checker measured it: bitrates in bit/s over the segments'
    declared durations (an HLS variant's include its audio group's heaviest rendition)."""

    name: str
    kind: str
    codecs: list[str]
    segments: int
    bandwidth_peak: int
    bandwidth_average: int
    declared_bandwidth: int | None = None
    declared_average_bandwidth: int | None = None


class StreamCheckSummary(OutputRecord):
    """The checker's verdict on a package, every manifest of it (CMAF: both). ``failures``
    is capped at ``MAX_CHECK_FAILURES``; ``failed_rules`` lists every failed rule id."""

    passed: bool
    manifests: list[str]
    failed_rules: list[str] = []
    failures: list[CheckFailure] = []
    renditions: list[CheckedRendition] = []


MAX_CHECK_FAILURES = 20


class AdaptiveStreamingResult(OutputRecord):
    """A packaged ladder: ``path`` is the entry point (the HLS master playlist, or the MPD of
    a DASH package); a CMAF package has both, ``mpd_path`` beside the master. ``size`` and
    ``file_count`` count every file of the package; ``renditions`` are as the packager
    measured them, ``check`` what the checker found (it passed, or the sub-task failed)."""

    kind: Literal["AdaptiveDynamicStreaming"] = "AdaptiveDynamicStreaming"
    definition: int
    bucket: str
    format: str  # HLS, MPEG-DASH or CMAF
    segment_type: str
    path: str
    mpd_path: str = ""
    file_count: int
    size: int
    renditions: list[RenditionReport]
    check: StreamCheckSummary
    quality: list[RungScore] = []  # the video rungs' scores, when the task asked (issue 18)


class EditResult(OutputRecord):
    """A clip-and-join's file."""

    kind: Literal["EditMedia"] = "EditMedia"
    file: OutputFile


SubTaskResult = Annotated[
    TranscodeResult
    | EditResult
    | SnapshotResult
    | SampleSnapshotResult
    | ImageSpriteResult
    | AnimatedResult
    | AdaptiveStreamingResult,
    Field(discriminator="kind"),
]
