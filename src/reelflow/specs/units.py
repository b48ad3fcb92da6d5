"""Small value types shared by templates: codecs, containers, sizes."""

from __future__ import annotations

from enum import StrEnum


class VideoCodec(StrEnum):
    H264 = "h264"
    H265 = "h265"
    VP9 = "vp9"
    AV1 = "av1"


class AudioCodec(StrEnum):
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

SAMPLE_RATES = frozenset({0, 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000})


def parse_size(value: str, *, what: str) -> tuple[float, str]:
    """``"10%"`` -> (10.0, "%"), ``"24px"`` -> (24.0, "px"); a bare number means px."""
    text = value.strip().lower()
    for unit in ("%", "px"):
        if text.endswith(unit):
            number = text[: -len(unit)]
            break
    else:
        number, unit = text, "px"
    try:
        parsed = float(number)
    except ValueError:
        raise ValueError(f"{what} must be N% or Npx, got {value!r}") from None
    if parsed < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    return parsed, unit
