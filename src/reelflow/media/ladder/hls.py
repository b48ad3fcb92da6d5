"""HLS playlists with the ``m3u8`` package: FFmpeg's media playlists read, and the published
media, I-frame and master playlists written from measured facts.

What gets written (HLS authoring rules the checker enforces):

- media playlists: ``EXT-X-TARGETDURATION`` >= every segment's rounded duration (measured,
  the same for every rendition), ``EXT-X-INDEPENDENT-SEGMENTS``, ``EXT-X-PLAYLIST-TYPE:VOD``,
  each ``EXTINF`` the segment's measured duration, no wall-clock ``PROGRAM-DATE-TIME``;
- an I-frame playlist per video rendition (``EXT-X-I-FRAMES-ONLY``, a ``BYTERANGE`` per
  keyframe into the segments);
- the master: ``BANDWIDTH`` = measured peak (video plus its audio group's peak),
  ``AVERAGE-BANDWIDTH`` = measured average (plus the group's), ``CODECS`` from the streams,
  ``RESOLUTION``, ``FRAME-RATE``, the audio renditions as ``EXT-X-MEDIA`` groups, and an
  ``EXT-X-I-FRAME-STREAM-INF`` per video rendition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import m3u8

from reelflow.media.ladder.scan import ByteRange, SegmentRef


def _byterange(value: str, previous_end: int) -> tuple[int, int]:
    """``"length@offset"`` (or ``"length"``, continuing) -> (offset, length)."""
    length, _, offset = value.partition("@")
    return (int(offset) if offset else previous_end), int(length)


def read_segments(playlist: Path) -> list[SegmentRef]:
    """The segments FFmpeg listed in ``playlist``, as byte ranges of files beside it."""
    parsed = m3u8.loads(playlist.read_text())
    folder = playlist.parent
    refs: list[SegmentRef] = []
    end_of: dict[str, int] = {}
    for segment in parsed.segments:
        init = None
        if segment.init_section is not None:
            section = segment.init_section
            if section.byterange:
                offset, length = _byterange(section.byterange, 0)
                init = ByteRange(folder / section.uri, offset, length)
            else:
                init = ByteRange(folder / section.uri)
        if segment.byterange:
            offset, length = _byterange(segment.byterange, end_of.get(segment.uri, 0))
            end_of[segment.uri] = offset + length
            media = ByteRange(folder / segment.uri, offset, length)
        else:
            media = ByteRange(folder / segment.uri)
        refs.append(SegmentRef(media=media, init=init))
    return refs


@dataclass(frozen=True)
class PlaylistEntry:
    """One line of a published playlist: ``uri`` with an optional byte range."""

    uri: str
    duration: float
    offset: int | None = None  # set with length for a byte range
    length: int | None = None

    @property
    def byterange(self) -> str | None:
        return None if self.length is None else f"{self.length}@{self.offset or 0}"


def _version(fmp4: bool, byteranges: bool) -> int:
    # 7: EXT-X-MAP in a media playlist of fMP4 segments; 4: EXT-X-BYTERANGE, I-frames only.
    if fmp4:
        return 7
    return 4 if byteranges else 3


def media_playlist(
    entries: list[PlaylistEntry], target: int, init: PlaylistEntry | None, *, iframes: bool
) -> str:
    """A VOD media playlist (or I-frame playlist) of ``entries``."""
    playlist = m3u8.M3U8()
    playlist.version = max(
        _version(init is not None, any(e.length is not None for e in entries)),
        4 if iframes else 3,
    )
    playlist.target_duration = target
    playlist.media_sequence = 0
    playlist.playlist_type = "vod"
    playlist.is_independent_segments = True
    playlist.is_i_frames_only = iframes
    playlist.is_endlist = True
    section: dict[str, str] | None = None
    if init is not None:
        section = {"uri": init.uri}
        if init.byterange:
            section["byterange"] = init.byterange
    for entry in entries:
        playlist.add_segment(
            m3u8.Segment(
                uri=entry.uri,
                duration=round(entry.duration, 6),
                byterange=entry.byterange,
                init_section=section,
            )
        )
    return str(playlist.dumps(infspec="microseconds"))


@dataclass(frozen=True)
class Variant:
    """One ``EXT-X-STREAM-INF`` (and, for video, its I-frame playlist)."""

    uri: str
    bandwidth: int
    average_bandwidth: int
    codecs: str
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None
    audio_group: str = ""
    iframe_uri: str = ""
    iframe_bandwidth: int = 0
    iframe_average_bandwidth: int = 0
    video_codecs: str = ""


@dataclass(frozen=True)
class AudioMedia:
    group: str
    name: str
    uri: str
    channels: int
    default: bool


def master_playlist(variants: list[Variant], audio: list[AudioMedia], *, fmp4: bool) -> str:
    master = m3u8.M3U8()
    master.version = 7 if fmp4 else 4
    master.is_independent_segments = True
    media = [
        m3u8.Media(
            uri=a.uri,
            type="AUDIO",
            group_id=a.group,
            name=a.name,
            default="YES" if a.default else "NO",
            autoselect="YES",
            channels=str(a.channels),
        )
        for a in audio
    ]
    for item in media:
        master.add_media(item)
    for v in variants:
        info: dict[str, object] = {
            "bandwidth": v.bandwidth,
            "average_bandwidth": v.average_bandwidth,
            "codecs": v.codecs,
        }
        if v.resolution:
            info["resolution"] = f"{v.resolution[0]}x{v.resolution[1]}"
        if v.frame_rate:
            info["frame_rate"] = v.frame_rate
        if v.audio_group:
            info["audio"] = v.audio_group
        master.add_playlist(m3u8.Playlist(v.uri, info, media, None))
        if v.iframe_uri:
            iframe_info: dict[str, object] = {
                "bandwidth": v.iframe_bandwidth,
                "average_bandwidth": v.iframe_average_bandwidth,
                "codecs": v.video_codecs,
            }
            if v.resolution:
                iframe_info["resolution"] = f"{v.resolution[0]}x{v.resolution[1]}"
            master.add_iframe_playlist(m3u8.IFramePlaylist(None, v.iframe_uri, iframe_info))
    return str(master.dumps())
