"""What a media source contains: the probe's frozen dataclasses.

Filled by ``reelflow.media.probe`` (PyAV); carried by jobs and stored with the task as
``MediaInfo.to_json()``. This module imports no PyAV, so the planner and the renderers can use
the values without loading FFmpeg's libraries.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Self, TypeVar

_HDR_TRANSFERS = {"smpte2084": "hdr10", "arib-std-b67": "hlg"}


@dataclass(frozen=True, slots=True)
class VideoStreamInfo:
    """One video stream. Sizes are coded pixels; ``rotation`` is clockwise degrees.

    ``rotation`` (0/90/180/270) is how far a player turns the coded picture to show it,
    the convention of the legacy ``rotate`` tag (a portrait phone clip says 90).
    ``fps`` is the average frame rate; ``None`` fields were not stated by the source.
    """

    index: int
    codec: str
    width: int
    height: int
    rotation: int
    fps: float | None
    fps_num: int | None
    fps_den: int | None
    pix_fmt: str | None
    bitrate: int | None
    duration: float | None
    interlaced: bool
    frame_count: int | None
    is_vfr: bool = False
    color_primaries: str | None = None
    color_space: str | None = None
    color_transfer: str | None = None
    codec_tag: str | None = None

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height

    @property
    def hdr_type(self) -> str | None:
        """``"hdr10"`` (PQ) or ``"hlg"`` from the transfer function; ``None`` for SDR."""
        return _HDR_TRANSFERS.get(self.color_transfer or "")


@dataclass(frozen=True, slots=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    bitrate: int | None
    duration: float | None
    codec_tag: str | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a source contains. ``duration`` in seconds, ``size`` in bytes, ``bitrate``
    in bits per second; ``container`` is FFmpeg's demuxer name (``mov,mp4,m4a,...``)."""

    container: str
    duration: float | None
    size: int | None
    bitrate: int | None
    video: tuple[VideoStreamInfo, ...]
    audio: tuple[AudioStreamInfo, ...]

    @property
    def primary_video(self) -> VideoStreamInfo | None:
        return self.video[0] if self.video else None

    @property
    def primary_audio(self) -> AudioStreamInfo | None:
        return self.audio[0] if self.audio else None

    @property
    def has_video(self) -> bool:
        return bool(self.video)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict of the fields (a job's JSON, the task row's ``media_info``).

        Every stream field is a scalar, so a flat copy per stream is ``asdict``'s result
        without its recursive deep copy (a tenth of the cost: one per finished probe)."""
        return {
            "container": self.container,
            "duration": self.duration,
            "size": self.size,
            "bitrate": self.bitrate,
            "video": [_flat(stream) for stream in self.video],
            "audio": [_flat(stream) for stream in self.audio],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_json`; keys unknown to this version are ignored."""
        return cls(
            container=data["container"],
            duration=data["duration"],
            size=data["size"],
            bitrate=data["bitrate"],
            video=tuple(_known(VideoStreamInfo, item) for item in data["video"]),
            audio=tuple(_known(AudioStreamInfo, item) for item in data["audio"]),
        )


_Stream = TypeVar("_Stream", VideoStreamInfo, AudioStreamInfo)
_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (VideoStreamInfo, AudioStreamInfo)
}


def _flat(stream: VideoStreamInfo | AudioStreamInfo) -> dict[str, Any]:
    return {name: getattr(stream, name) for name in _NAMES[type(stream)]}


def _known(cls: type[_Stream], data: dict[str, Any]) -> _Stream:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def normalize_rotation(degrees: float) -> int:
    """Nearest multiple of 90 in ``[0, 360)``."""
    return round(degrees / 90.0) * 90 % 360
