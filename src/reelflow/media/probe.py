"""Probe a media source in-process with PyAV into the frozen dataclasses of
``reelflow.specs.media``.

Probing reads headers, not the whole file: opening the container, at most one decoded
video frame (only when the headers leave rotation or interlacing unknown) and, for a
remote MP4, one seek near its end. Local MP4/MOV files are also walked box by box
(``reelflow.media.isobmff``), which finds truncation and rotation without decoding anything.

Memory is bounded whatever the source declares: FFmpeg's decoders refuse pictures above
``DECODE_BUDGET`` pixels in this process (``max_pixels``), the frame size of a still image
is read from its header (Pillow, which does not decode on open), and a source larger than
``max_pixels`` is refused with ``InvalidInput.TooLarge`` before anything decodes it.

Bad input fails fast with a specific error (see :func:`probe`); no ``av`` exception
leaks out of this module.
"""

from __future__ import annotations

import itertools
import re
import stat
import struct
import warnings
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import av.error
import PIL.Image

from reelflow.errors import AccessDenied, InvalidMedia, ObjectNotFound, SpecError
from reelflow.media.isobmff import track_rotations
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo, normalize_rotation

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_FIRST_FRAME_PACKET_LIMIT = 64  # give up on rotation/interlace hints rather than read on
_VFR_TOLERANCE = 0.01
# The default for ``probe(max_pixels=...)``, as ``Settings.max_input_pixels``: 8192x8192.
MAX_INPUT_PIXELS = 8192 * 8192
# Largest picture a decoder may allocate in this (server or worker) process while probing:
# 4096x2304 is at most 75 MB even as 16-bit RGBA. Larger pictures are described from
# container and image headers instead of a decoded frame.
DECODE_BUDGET = 4096 * 2304
# Still-image formats whose headers are read before FFmpeg opens the file. Only formats
# with a signature: Pillow tries a format without one (TGA) on any file, video included.
_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "JPEG2000")
# H.273 code points -> the names ffprobe prints (and the compatible API returns).
_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
              8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432",
              22: "ebu3213"}  # fmt: skip
_TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
              8: "linear", 9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e",
              13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084",
              17: "smpte428", 18: "arib-std-b67"}  # fmt: skip
_MATRICES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
             8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 11: "smpte2085",
             12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp"}  # fmt: skip


def bit_depth(stream: VideoStreamInfo) -> int | None:
    """Bits per sample of ``stream``'s pixel format; ``None`` if unknown."""
    fmt = _video_format(stream.pix_fmt)
    return fmt.components[0].bits if fmt is not None and fmt.components else None


def chroma(stream: VideoStreamInfo) -> str | None:
    """``"420"``, ``"422"``, ``"444"`` or ``"411"``; ``None`` for gray or unknown."""
    fmt = _video_format(stream.pix_fmt)
    if fmt is None or len(fmt.components) < 3:
        return None
    if fmt.is_rgb:
        return "444"
    return _CHROMA.get((fmt.chroma_width(4), fmt.chroma_height(4)))


_CHROMA = {(2, 2): "420", (2, 4): "422", (4, 4): "444", (1, 4): "411"}


def _video_format(pix_fmt: str | None) -> av.VideoFormat | None:
    if not pix_fmt:
        return None
    try:
        return av.VideoFormat(pix_fmt)
    except ValueError:  # a name this libavutil does not know
        return None


def probe(source: str | Path, *, max_pixels: int = MAX_INPUT_PIXELS, label: str = "") -> MediaInfo:
    """Describe the local file ``source``. A video stream of more than ``max_pixels``
    pixels per frame is refused without being decoded. Error messages name the source
    ``label`` (default: its path), e.g. the bucket and key of which ``source`` is a copy.

    Only local files: remote sources (URL inputs, objects of S3 buckets) are fetched by
    reelflow's own clients first (``reelflow.executors.jobs``), so that the egress policy
    and the store's outage handling apply; FFmpeg and PyAV never open the network here.

    Raises:
        ObjectNotFound: the file does not exist.
        AccessDenied: the file is unreadable.
        SpecError: ``source`` is a URL (``http://``, ``s3://`` ...), not a path.
        InvalidMedia: the source is not usable media; ``code`` is one of
            ``InvalidInput.EmptyFile``, ``InvalidInput.NotMedia``,
            ``InvalidInput.Truncated``, ``InvalidInput.NoMediaStreams``,
            ``InvalidInput.TooLarge``.
    """
    if isinstance(source, str) and _SCHEME.match(source):
        raise SpecError(
            f"unsupported source {_redact(source)!r}: give a local path", field="source"
        )
    path = Path(source)
    name = label or str(path)
    size = _local_size(path, name)
    rotations = track_rotations(path, size)
    picture = _image_size(path, max_pixels, name)
    # "file:" stops FFmpeg from reading "concat:", "data:" or "pipe:" in a path as a protocol.
    target = f"file:{path.absolute()}"
    options = {"protocol_whitelist": "file", **_decode_limit(max_pixels)}
    with _open(target, options=options, label=name) as container:
        info = _describe(container, size=size, rotations=rotations)
    declared: dict[int, tuple[int, int]] = {}
    if any(v.width <= 0 or v.height <= 0 for v in info.video):
        declared = _declared_sizes(target, name, picture)
    return _bounded(info, declared, max_pixels, name)


def _decode_limit(max_pixels: int) -> dict[str, str]:
    """Options for ``av.open``: ``max_pixels`` reaches the decoders that
    ``avformat_find_stream_info`` opens, which decode a frame when the headers do not
    state its size (PNG, JPEG ...)."""
    return {"max_pixels": str(min(max_pixels, DECODE_BUDGET))}


def _image_size(path: Path, max_pixels: int, label: str) -> tuple[int, int] | None:
    """The frame size a still image's header declares; ``None`` if it is not an image.

    Pillow reads only the header on open. It refuses sizes beyond twice its own limit
    (about 179 megapixels) outright: such an image is too large for any setting.

    Raises:
        InvalidMedia: ``InvalidInput.TooLarge`` if the image has more than ``max_pixels``.
    """
    try:
        with warnings.catch_warnings():
            # Sizes between Pillow's limit and twice it only warn: this module decides.
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path, formats=_IMAGE_FORMATS) as image:
                width, height = image.size
    except PIL.Image.DecompressionBombError as exc:
        raise InvalidMedia(
            f"{label} declares a picture of more than {2 * (PIL.Image.MAX_IMAGE_PIXELS or 0)} "
            f"pixels; at most {max_pixels} are accepted",
            code="InvalidInput.TooLarge",
        ) from exc
    except (OSError, ValueError, SyntaxError, struct.error):
        # Not an image Pillow knows (UnidentifiedImageError is an OSError), or a header it
        # cannot parse: FFmpeg judges the file.
        return None
    _check_pixels(width, height, max_pixels, label)
    return width, height


def _check_pixels(width: int, height: int, max_pixels: int, label: str) -> None:
    if width * height > max_pixels:
        raise InvalidMedia(
            f"{label} has {width}x{height} = {width * height} pixels per frame; at most "
            f"{max_pixels} are accepted (REELFLOW_MAX_INPUT_PIXELS)",
            code="InvalidInput.TooLarge",
        )


def _declared_sizes(
    target: str, label: str, picture: tuple[int, int] | None
) -> dict[int, tuple[int, int]]:
    """Frame sizes by stream index as the headers state them, without decoding.

    A decoder held to ``DECODE_BUDGET`` resets the size of a larger picture to 0x0. A still
    image's size comes from its header (``picture``); otherwise the source is opened again
    with no decoder allowed, which leaves the sizes the container states.
    """
    if picture is not None:
        return {-1: picture}
    options = {"protocol_whitelist": "file", "codec_whitelist": "none"}
    try:
        with _open(target, options=options, label=label) as container:
            return {
                s.index: (s.codec_context.width, s.codec_context.height)
                for s in container.streams.video
                if s.codec_context is not None
            }
    except InvalidMedia:
        return {}


def _bounded(
    info: MediaInfo, declared: dict[int, tuple[int, int]], max_pixels: int, label: str
) -> MediaInfo:
    """``info`` with every video stream's frame size known and within ``max_pixels``.

    ``declared`` fills sizes left at 0x0 (by stream index; ``-1``: any stream). A size
    still unknown means no header states it and no decoder could make a picture of it.
    """
    video = []
    for found in info.video:
        stream = found
        if stream.width <= 0 or stream.height <= 0:
            size = declared.get(stream.index) or declared.get(-1)
            if size is not None:
                stream = replace(stream, width=size[0], height=size[1])
        if stream.width <= 0 or stream.height <= 0:
            raise InvalidMedia(
                f"{label}: the frame size of video stream {stream.index} cannot be read "
                f"(damaged, or larger than {max_pixels} pixels)",
                code="InvalidInput.NotMedia",
            )
        _check_pixels(stream.width, stream.height, max_pixels, label)
        video.append(stream)
    return replace(info, video=tuple(video))


def _local_size(path: Path, label: str) -> int:
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ObjectNotFound(f"source file not found: {label}") from exc
    except PermissionError as exc:
        raise AccessDenied(f"source file not readable: {label}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InvalidMedia(f"{label} is not a regular file", code="InvalidInput.NotMedia")
    if st.st_size == 0:
        raise InvalidMedia(f"{label} is empty (0 bytes)", code="InvalidInput.EmptyFile")
    return st.st_size


def _open(target: str, *, options: dict[str, str], label: str) -> av.container.InputContainer:
    """``av.open`` of a local file with its errors translated."""
    try:
        return av.open(target, mode="r", options=options)
    except av.error.FileNotFoundError as exc:
        raise ObjectNotFound(f"source file not found: {label}") from exc
    except av.error.PermissionError as exc:
        raise AccessDenied(f"source file not readable: {label}") from exc
    except av.error.InvalidDataError as exc:
        raise InvalidMedia(
            f"{label} is not a media file FFmpeg can read (unknown or damaged format)",
            code="InvalidInput.NotMedia",
        ) from exc
    except (av.error.ExitError, OSError) as exc:
        # A local file that stat() could see fails here only when a demuxer gives up on it
        # (EIO from a header cut short): that is the media's fault, not the disk's.
        raise InvalidMedia(
            f"{label} cannot be read as media ({exc.strerror}): damaged or cut short",
            code="InvalidInput.NotMedia",
        ) from exc
    except av.error.FFmpegError as exc:
        raise InvalidMedia(
            f"{label} cannot be opened as media: {exc.strerror}", code="InvalidInput.NotMedia"
        ) from exc


def _redact(url: str) -> str:
    """Drop the query string: presigned URLs carry credentials there."""
    return url.partition("?")[0]


def _describe(
    container: av.container.InputContainer,
    *,
    size: int | None,
    rotations: tuple[int, ...] | None,
) -> MediaInfo:
    # A stream without a codec context has no decoder in this FFmpeg build: unusable.
    video = [
        s for s in container.streams.video if s.codec_context is not None and not _is_cover_art(s)
    ]
    audio = [s for s in container.streams.audio if s.codec_context is not None]
    if not video and not audio:
        found = ", ".join(sorted({s.type for s in container.streams})) or "none"
        raise InvalidMedia(
            f"the source has no audio or video stream FFmpeg can decode (streams found: {found})",
            code="InvalidInput.NoMediaStreams",
        )
    if rotations is not None and len(rotations) != len(container.streams):
        rotations = None  # tracks and streams do not line up: ask the decoder instead
    infos = tuple(
        _video_info(container, s, rotations, decode_hints=i == 0) for i, s in enumerate(video)
    )
    duration = container.duration
    return MediaInfo(
        container=container.format.name,
        duration=duration / av.time_base if duration is not None else None,
        size=size,
        bitrate=container.bit_rate or None,
        video=infos,
        audio=tuple(_audio_info(s) for s in audio),
    )


def _video_info(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    rotations: tuple[int, ...] | None,
    *,
    decode_hints: bool,
) -> VideoStreamInfo:
    ctx = stream.codec_context
    rotation = rotations[stream.index] if rotations is not None else None
    interlaced = _FIELD_ORDER_INTERLACED.get(ctx.field_order)
    small = 0 < ctx.width * ctx.height <= DECODE_BUDGET  # 0: the size is still unknown
    if decode_hints and small and (rotation is None or interlaced is None):
        # Headers left a gap; the first decoded frame carries both facts.
        frame = _first_frame(container, stream)
        if frame is not None:
            rotation = normalize_rotation(-frame.rotation) if rotation is None else rotation
            interlaced = frame.interlaced_frame if interlaced is None else interlaced
    rate = _first_rate(stream.average_rate, stream.guessed_rate, stream.base_rate)
    avg, base = stream.average_rate, stream.base_rate
    return VideoStreamInfo(
        index=stream.index,
        codec=_codec_name(stream),
        width=ctx.width,
        height=ctx.height,
        rotation=rotation or 0,
        fps=float(rate) if rate else None,
        fps_num=rate.numerator if rate else None,
        fps_den=rate.denominator if rate else None,
        pix_fmt=ctx.pix_fmt,
        bitrate=ctx.bit_rate or None,
        duration=_stream_seconds(stream),
        interlaced=bool(interlaced),
        frame_count=stream.frames or None,
        is_vfr=bool(avg and base and abs(avg / base - 1) > _VFR_TOLERANCE),
        color_primaries=_PRIMARIES.get(ctx.color_primaries),
        color_space=_MATRICES.get(ctx.colorspace),
        color_transfer=_TRANSFERS.get(ctx.color_trc),
        codec_tag=_codec_tag(ctx.codec_tag),
    )


# AVFieldOrder: 0 unknown, 1 progressive, 2..5 the four interlaced orders.
_FIELD_ORDER_INTERLACED = {1: False, 2: True, 3: True, 4: True, 5: True}


def _audio_info(stream: av.AudioStream) -> AudioStreamInfo:
    ctx = stream.codec_context
    return AudioStreamInfo(
        index=stream.index,
        codec=_codec_name(stream),
        sample_rate=ctx.sample_rate,
        channels=ctx.channels,
        bitrate=ctx.bit_rate or None,
        duration=_stream_seconds(stream),
        codec_tag=_codec_tag(ctx.codec_tag),
    )


def _first_frame(
    container: av.container.InputContainer, stream: av.VideoStream
) -> av.VideoFrame | None:
    stream.codec_context.thread_count = 1  # frame threads would buffer several frames first
    try:
        packets = container.demux(stream)
        first = next(packets, None)
        if first is None:
            return None
        if first.is_keyframe:
            packets = itertools.chain([first], packets)
        else:
            # Over HTTP, PyAV loses the first packet (the keyframe) of an MP4 whose moov
            # is at the end, and HEVC then never outputs a frame: seek back to the start.
            # (Not done up front: seeking a Matroska URL to 0 can fail with EOF.)
            container.seek(stream.start_time or 0, stream=stream, backward=True)
            packets = container.demux(stream)
        for packet in itertools.islice(packets, _FIRST_FRAME_PACKET_LIMIT):
            for frame in packet.decode():
                return frame
    except av.error.FFmpegError:
        # Only hints are at stake; a stream that does not decode fails its job later
        # with FFmpeg's own, more precise, message.
        return None
    return None


def _is_cover_art(stream: av.VideoStream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _codec_name(stream: av.stream.Stream) -> str:
    # canonical_name is the codec id ("mp3"), not the decoder picked ("mp3float").
    return stream.codec_context.codec.canonical_name


def _codec_tag(tag: str) -> str | None:
    """A printable FourCC such as ``avc1``/``hvc1``/``mp4a``; containers without one
    (Matroska, MPEG-TS) give ``None``."""
    tag = tag.strip("\x00 ")
    return tag if len(tag) == 4 and tag.isprintable() and tag.isascii() else None


def _stream_seconds(stream: av.stream.Stream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _first_rate(*rates: Fraction | None) -> Fraction | None:
    return next((r for r in rates if r), None)
