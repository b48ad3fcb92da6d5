"""Measuring one media segment in memory with PyAV: its packets' flags, timestamps and sizes
(demuxing only, no decoding), and, for the segments that must decode, a full decode.

A transport-stream segment is demuxed alone; an fMP4 segment after its initialization section
(``init``), as a player does. Times are in seconds on the segment's own timeline (the PTS of a
TS, the ``tfdt`` of a fragment), so that boundaries can be compared across renditions.
"""

from __future__ import annotations

import io
import itertools
import statistics
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from reelflow.errors import InvalidMedia
from reelflow.media.streamcheck.codecs import audio_codec, video_codec

_TS_SYNC = 0x47
_TS_PACKET = 188


@dataclass(frozen=True)
class SegmentFacts:
    """What one segment holds. ``start`` and ``duration`` follow its video stream when it has
    one (its audio otherwise); ``starts_with_keyframe`` is ``None`` without video."""

    size: int  # bytes of the segment itself, without its initialization section
    start: float
    duration: float
    starts_with_keyframe: bool | None
    frame_duration: float | None
    video_codec: str | None
    audio_codecs: tuple[str, ...]
    width: int | None = None
    height: int | None = None

    @property
    def frame_rate(self) -> float | None:
        return round(1 / self.frame_duration, 3) if self.frame_duration else None

    @property
    def codecs(self) -> tuple[str, ...]:
        return ((self.video_codec,) if self.video_codec else ()) + self.audio_codecs


def is_transport_stream(data: bytes) -> bool:
    """Whether ``data`` starts like an MPEG-TS: a sync byte, and another 188 bytes on."""
    if len(data) < _TS_PACKET or data[0] != _TS_SYNC:
        return False
    return len(data) == _TS_PACKET or data[_TS_PACKET] == _TS_SYNC


def ts_tables(head: bytes) -> bytes:
    """The PAT and PMT packets among the transport-stream packets of ``head`` (the start of a
    TS file): what a byte range in the middle of that file needs before it to be demuxed."""
    packets = [head[i : i + _TS_PACKET] for i in range(0, len(head) - _TS_PACKET + 1, _TS_PACKET)]
    pmt_pids: set[int] = set()
    tables: list[bytes] = []
    for packet in packets:
        if packet[0] != _TS_SYNC:
            break
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        if pid == 0 and not pmt_pids:
            tables.append(packet)
            pmt_pids = _pat_programs(packet)
        elif pid in pmt_pids:
            tables.append(packet)
            pmt_pids.discard(pid)
            if not pmt_pids:
                break
    return b"".join(tables)


def _pat_programs(packet: bytes) -> set[int]:
    """The PMT PIDs of a PAT packet (program 0, the network PID, left out)."""
    at = 4
    if packet[3] & 0x20:  # an adaptation field comes first
        at += 1 + packet[4]
    at += 1 + packet[at]  # pointer field
    length = ((packet[at + 1] & 0x0F) << 8) | packet[at + 2]
    entries = packet[at + 8 : at + 3 + length - 4]  # after the header, before the CRC
    pids = set()
    for i in range(0, len(entries) - 3, 4):
        program = (entries[i] << 8) | entries[i + 1]
        if program:
            pids.add(((entries[i + 2] & 0x1F) << 8) | entries[i + 3])
    return pids


def _open(data: bytes, init: bytes) -> av.container.InputContainer:
    fmt = "mpegts" if is_transport_stream(data) and not init else "mp4"
    try:
        return av.open(io.BytesIO(init + data), mode="r", format=fmt)
    except (av.error.FFmpegError, ValueError) as exc:
        raise InvalidMedia(f"not a segment FFmpeg can demux ({fmt}): {exc}") from exc


def _seconds(value: int, time_base: Fraction | None) -> float:
    return float(value * time_base) if time_base is not None else float(value)


def measure(data: bytes, init: bytes = b"") -> SegmentFacts:
    """The facts of one segment (``init``: its initialization section, for fMP4).

    Raises:
        InvalidMedia: the bytes are not a segment FFmpeg can demux, or hold no packet.
    """
    with _open(data, init) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = list(container.streams.audio)
        times: list[int] = []  # PTS of the reference stream's packets
        durations: list[int] = []
        first_key: bool | None = None
        first_packet = b""
        reference = video if video is not None else (audio[0] if audio else None)
        if reference is None:
            raise InvalidMedia("the segment has neither video nor audio")
        try:
            for packet in container.demux(reference):
                if packet.size == 0 or packet.pts is None:
                    continue
                if first_key is None and video is not None:
                    first_key = bool(packet.is_keyframe)
                    first_packet = bytes(packet)
                times.append(packet.pts)
                durations.append(packet.duration or 0)
        except av.error.FFmpegError as exc:
            raise InvalidMedia(f"the segment cannot be demuxed: {exc}") from exc
        if not times:
            raise InvalidMedia("the segment holds no packet")
        base = reference.time_base
        ordered = sorted(times)
        steps = [b - a for a, b in itertools.pairwise(ordered) if b > a]
        step = statistics.median(steps) if steps else (durations[-1] or 0)
        tail = durations[times.index(ordered[-1])] or step
        frame_duration = _seconds(int(step), base) if video is not None and step else None
        codec = None
        if video is not None:
            context = video.codec_context
            codec = video_codec(context.name, bytes(context.extradata or b""), first_packet)
        return SegmentFacts(
            size=len(data),
            start=_seconds(ordered[0], base),
            duration=_seconds(ordered[-1] + int(tail) - ordered[0], base),
            starts_with_keyframe=first_key,
            frame_duration=frame_duration,
            video_codec=codec,
            audio_codecs=tuple(
                audio_codec(stream.codec_context.name, stream.codec_context.profile)
                for stream in audio
            ),
            width=video.codec_context.width if video is not None else None,
            height=video.codec_context.height if video is not None else None,
        )


def decode_problem(data: bytes, init: bytes = b"") -> str | None:
    """Why the segment does not decode completely (``None`` when it does): an error from a
    decoder, or fewer decoded video frames than video packets."""
    packets: dict[str, int] = {}
    frames: dict[str, int] = {}
    try:
        with _open(data, init) as container:
            streams = [*container.streams.video[:1], *container.streams.audio[:1]]
            for packet in container.demux(*streams):
                kind: str = packet.stream.type
                packets[kind] = packets.get(kind, 0) + (1 if packet.size else 0)
                for _frame in packet.decode():
                    frames[kind] = frames.get(kind, 0) + 1
    except (av.error.FFmpegError, InvalidMedia) as exc:
        return f"decoding failed: {exc}"
    for kind, count in packets.items():
        if count and not frames.get(kind):
            return f"no {kind} frame decodes ({count} packets)"
    if frames.get("video", 0) < packets.get("video", 0):
        return f"{frames.get('video', 0)} of {packets['video']} video frames decode"
    return None
