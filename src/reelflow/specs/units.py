"""Small value types shared by templates: codecs, containers, sizes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo


class VideoCodec(StrEnum):
    """A video codec by its compatible-API name."""

    H264 = "h264"
    H265 = "h265"
    VP9 = "vp9"
    AV1 = "av1"


class AudioCodec(StrEnum):
    """An audio codec by its compatible-API name."""

    AAC = "aac"
    MP3 = "mp3"
    OPUS = "opus"
    VORBIS = "vorbis"
    FLAC = "flac"
    PCM16 = "pcm16"


# The compatible API's documents and examples spell codecs both ways (``h264`` and
# ``libx264``); accept both and store reelflow's short names.
VIDEO_CODEC_ALIASES = {
    "libx264": "h264",
    "x264": "h264",
    "avc": "h264",
    "libx265": "h265",
    "x265": "h265",
    "hevc": "h265",
    "libvpx-vp9": "vp9",
    "libaom-av1": "av1",
    "libsvtav1": "av1",
}
AUDIO_CODEC_ALIASES = {
    "libfdk_aac": "aac",
    "libmp3lame": "mp3",
    "libopus": "opus",
    "libvorbis": "vorbis",
}

# container -> (video codecs allowed, audio codecs allowed); an empty video set = audio-only.
CONTAINERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "mp4": (frozenset({"h264", "h265", "av1", "vp9"}), frozenset({"aac", "mp3", "opus"})),
    "mov": (frozenset({"h264", "h265"}), frozenset({"aac", "mp3"})),
    "mkv": (
        frozenset({"h264", "h265", "av1", "vp9"}),
        frozenset({"aac", "mp3", "opus", "vorbis", "flac"}),
    ),
    "webm": (frozenset({"vp9", "av1"}), frozenset({"opus", "vorbis"})),
    "flv": (frozenset({"h264"}), frozenset({"aac", "mp3"})),
    "ts": (frozenset({"h264", "h265"}), frozenset({"aac", "mp3"})),
    "hls": (frozenset({"h264", "h265"}), frozenset({"aac", "mp3"})),
    "mp3": (frozenset(), frozenset({"mp3"})),
    "m4a": (frozenset(), frozenset({"aac"})),
    "ogg": (frozenset(), frozenset({"opus", "vorbis", "flac"})),
    "flac": (frozenset(), frozenset({"flac"})),
    "wav": (frozenset(), frozenset({"pcm16"})),
}
AUDIO_ONLY_CONTAINERS = frozenset(c for c, (v, _) in CONTAINERS.items() if not v)

# Integers stored or looked up (definitions, ids) are 64-bit signed, as in the database.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# Time offsets in seconds are finite and within a week of either end: enough for any
# source a job may run on (``job_timeout`` is hours), small enough for FFmpeg's arguments.
MAX_TIME_OFFSET = 7 * 86400.0
# Negative = counted from the end of the source (transcode clips, watermarks).
TimeOffset = Annotated[float, Field(ge=-MAX_TIME_OFFSET, le=MAX_TIME_OFFSET, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, le=MAX_TIME_OFFSET, allow_inf_nan=False)]


def check_end_after_start(value: float | None, info: ValidationInfo) -> float | None:
    """An ``end_time_offset`` validator: after ``start_time_offset`` when both count from
    the same end (a start at 10 s and an end at 2 s can never cut anything).

    A field validator, not a model one, so the error names ``end_time_offset``. Offsets
    of opposite signs depend on the source's duration; the planner checks those.
    """
    start = info.data.get("start_time_offset") or 0.0
    if value and start and (value > 0) == (start > 0) and value <= start:
        raise ValueError(f"end_time_offset ({value:g}) must be after start_time_offset ({start:g})")
    return value


SAMPLE_RATES = frozenset({0, 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000})


class SizeUnit(StrEnum):
    PERCENT = "%"
    PX = "px"


@dataclass(frozen=True, slots=True)
class Size:
    """A watermark's size or offset: ``number`` pixels, or ``number`` % of the video's side.

    Templates keep the compatible API's strings (``"10%"``, ``"24px"``); a resolved watermark
    carries them as ``Size`` values (``reelflow.specs.subtasks.WatermarkGeometry``).
    """

    number: float
    unit: SizeUnit

    @property
    def is_percent(self) -> bool:
        return self.unit is SizeUnit.PERCENT

    @classmethod
    def parse(cls, value: str, *, what: str) -> Size:
        """``"10%"`` -> 10 %, ``"24px"`` -> 24 px; a bare number means px."""
        text = value.strip().lower()
        for unit in (SizeUnit.PERCENT, SizeUnit.PX):
            if text.endswith(unit.value):
                number = text[: -len(unit.value)]
                break
        else:
            number, unit = text, SizeUnit.PX
        try:
            parsed = float(number)
        except ValueError:
            raise ValueError(f"{what} must be N% or Npx, got {value!r}") from None
        if parsed < 0:
            raise ValueError(f"{what} must not be negative, got {value!r}")
        return cls(parsed, unit)
