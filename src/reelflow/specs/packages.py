"""What packaging a ladder made: its files, in commit order, and each rendition's measured facts.

``LadderPackage.files`` lists every file a reader may fetch, in the order they must become
visible: segments (and init segments) first, then media and I-frame playlists, then the
master playlist and the MPD. Uploading in that order means no manifest ever points at a file
that is not there yet. Paths are relative to the package folder (flat: no sub-folders).
Bitrates are bits per second, measured from the segments written, not the template's.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class FileRole(StrEnum):
    SEGMENT = "segment"
    INIT = "init"
    MEDIA_PLAYLIST = "media_playlist"
    IFRAME_PLAYLIST = "iframe_playlist"
    MASTER = "master"
    MPD = "mpd"


# Commit order: a role is made visible only after every role before it.
COMMIT_ORDER = (
    FileRole.INIT,
    FileRole.SEGMENT,
    FileRole.MEDIA_PLAYLIST,
    FileRole.IFRAME_PLAYLIST,
    FileRole.MPD,
    FileRole.MASTER,
)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PackageFile(_Record):
    path: str
    size: int
    md5: str
    role: FileRole


class RenditionReport(_Record):
    """One rendition as written. ``kind`` is ``video`` or ``audio``; ``sub_stream`` is its
    number in file names (video rungs first, smallest first, then audio renditions).

    ``peak_bitrate`` is the HLS peak segment bit rate (RFC 8216bis: the highest rate of any
    run of consecutive segments lasting 0.5 to 1.5 target durations) of this rendition alone;
    ``average_bitrate`` its total bits over its duration. ``playlist`` is its HLS media
    playlist (empty for a DASH-only package).
    """

    kind: str
    sub_stream: int
    stream_info: int  # position in the template's stream infos (-1 for audio renditions)
    codecs: str
    width: int = 0
    height: int = 0
    frame_rate: float = 0.0
    sample_rate: int = 0
    channels: int = 0
    audio_group: str = ""
    peak_bitrate: int
    average_bitrate: int
    segment_count: int
    duration: float
    max_segment_duration: float
    playlist: str = ""
    iframe_playlist: str = ""


class LadderPackage(_Record):
    """A packaged ladder: ``master`` (HLS master playlist) and/or ``mpd`` are the entry points,
    both set for CMAF. ``files`` is in commit order (``COMMIT_ORDER``)."""

    format: str
    segment_type: str
    master: str = ""
    mpd: str = ""
    target_duration: int
    renditions: list[RenditionReport]
    files: list[PackageFile]
    dropped: list[int] = []

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)
