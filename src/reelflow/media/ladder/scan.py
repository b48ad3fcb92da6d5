"""What each written segment holds, read back with PyAV (demux only, nothing decoded).

A segment is a byte range of a file (a whole file, or one range of a single-file rendition);
fMP4 segments are read behind their init segment. For each segment: its size, its time span,
whether it starts with a keyframe, and the byte range of every keyframe in the file, as an
I-frame playlist needs it (TS: from the keyframe's PES start to the next PES; fMP4: from the
fragment's ``moof`` to the end of the keyframe's sample).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from reelflow.errors import FFmpegFailed
from reelflow.media.ladder.codecs import aac_codec, avc_codec, hevc_codec


@dataclass(frozen=True)
class ByteRange:
    path: Path
    offset: int = 0
    length: int | None = None  # None = to the end of the file

    def read(self) -> bytes:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            return f.read() if self.length is None else f.read(self.length)


@dataclass(frozen=True)
class SegmentRef:
    """One segment as a media playlist lists it."""

    media: ByteRange
    init: ByteRange | None = None


@dataclass(frozen=True)
class KeyframeRange:
    time: float  # presentation time, seconds
    offset: int  # in the segment's file
    length: int


@dataclass(frozen=True)
class SegmentScan:
    ref: SegmentRef
    size: int
    start: float  # seconds, presentation time of the earliest sample
    end: float
    starts_with_keyframe: bool
    keyframes: tuple[KeyframeRange, ...]

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class StreamFacts:
    """The encoded stream as its own parameters describe it."""

    codecs: str
    width: int = 0
    height: int = 0
    frame_rate: float = 0.0
    sample_rate: int = 0
    channels: int = 0


def _top_level_boxes(data: bytes) -> list[tuple[bytes, int]]:
    """(type, start) of the top-level ISO-BMFF boxes in ``data``."""
    found = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1 and pos + 16 <= len(data):
            (size,) = struct.unpack_from(">Q", data, pos + 8)
        elif size == 0:
            size = len(data) - pos
        if size < 8:
            break
        found.append((kind, pos))
        pos += size
    return found


@dataclass(frozen=True)
class _Packet:
    start: float  # seconds
    end: float
    pos: int  # in head + data; -1 when unknown
    size: int
    key: bool


def _packets(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> tuple[list[_Packet], bytes]:
    """The stream's packets, and the payload of the first one (parameter sets in TS)."""
    base = stream.time_base or Fraction(1, 90000)
    found: list[_Packet] = []
    first = b""
    for packet in container.demux(stream):
        if not packet.size:
            continue
        ticks = packet.pts if packet.pts is not None else packet.dts
        if ticks is None:
            continue
        start = float(ticks * base)
        end = start + float((packet.duration or 0) * base)
        pos = packet.pos if packet.pos is not None else -1
        if not found:
            first = bytes(packet)
        found.append(_Packet(start, end, pos, packet.size, packet.is_keyframe))
    return found, first


def scan_segment(
    ref: SegmentRef, *, fmp4: bool, want_facts: bool = False
) -> tuple[SegmentScan, StreamFacts | None]:
    """Demux one segment. ``want_facts`` also reads the stream's codec parameters.

    Raises:
        FFmpegFailed: the segment cannot be read back (FFmpeg wrote something broken).
    """
    data = ref.media.read()
    head = ref.init.read() if ref.init is not None else b""
    name = ref.media.path.name
    try:
        with av.open(
            io.BytesIO(head + data), mode="r", format="mp4" if fmp4 else "mpegts"
        ) as container:
            if not container.streams:
                raise FFmpegFailed(f"segment {name} holds no stream")
            stream = container.streams[0]
            packets, first = _packets(container, stream)
            facts = _facts(stream, first) if want_facts else None
    except av.error.FFmpegError as exc:
        raise FFmpegFailed(f"segment {name} cannot be read: {exc}") from exc
    if not packets:
        raise FFmpegFailed(f"segment {name} holds no packet")
    shift = len(head)
    positions = sorted(p.pos - shift for p in packets if p.pos >= shift)
    moofs = [pos for kind, pos in _top_level_boxes(data) if kind == b"moof"] if fmp4 else []
    keyframes = []
    for packet in packets:
        if not packet.key or packet.pos < shift:
            continue
        local = packet.pos - shift
        if fmp4:
            begin = max((m for m in moofs if m <= local), default=0)
            end = local + packet.size
        else:
            begin = local
            end = next((p for p in positions if p > local), len(data))
        keyframes.append(KeyframeRange(packet.start, ref.media.offset + begin, end - begin))
    scan = SegmentScan(
        ref=ref,
        size=len(data),
        start=min(p.start for p in packets),
        end=max(p.end for p in packets),
        starts_with_keyframe=packets[0].key,
        keyframes=tuple(keyframes),
    )
    return scan, facts


def _facts(stream: av.stream.Stream, first_packet: bytes) -> StreamFacts:
    extradata = bytes(stream.codec_context.extradata or b"")
    if isinstance(stream, av.VideoStream):
        ctx = stream.codec_context
        name = ctx.name
        codecs = (
            hevc_codec(extradata, first_packet)
            if name == "hevc"
            else avc_codec(extradata, first_packet)
        )
        if codecs is None:
            raise FFmpegFailed(f"no parameter set found in the {name} stream")
        rate = stream.average_rate or stream.guessed_rate or 0
        return StreamFacts(
            codecs=codecs,
            width=ctx.width,
            height=ctx.height,
            frame_rate=round(float(rate), 3),
        )
    if not isinstance(stream, av.AudioStream):
        raise FFmpegFailed(f"unexpected {stream.type} stream in a segment")
    audio = stream.codec_context
    return StreamFacts(
        codecs=aac_codec(extradata, audio.profile),
        sample_rate=audio.sample_rate,
        channels=audio.channels,
    )
