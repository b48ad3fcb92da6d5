"""Template models: the parameters of each sub-task kind, as the compatible API defines them.

A template is referenced by an integer ``definition``: system presets (``reelflow.presets``)
or custom templates. ``Definition=0`` in a task input means an inline (raw) template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from reelflow.config import X264Preset
from reelflow.specs.base import Spec
from reelflow.specs.images import decode_image
from reelflow.specs.units import (
    AUDIO_CODEC_ALIASES,
    AUDIO_ONLY_CONTAINERS,
    CONTAINERS,
    INT64_MAX,
    SAMPLE_RATES,
    VIDEO_CODEC_ALIASES,
    AudioCodec,
    Size,
    VideoCodec,
)


class TemplateKind(StrEnum):
    """The template kinds: the six of the seed and the adaptive-streaming ladder
    (``reelflow.specs.ladders``), named as the compatible API's results name them. Each
    kind's model is in ``reelflow.specs.template_kinds``."""

    TRANSCODE = "Transcode"
    WATERMARK = "Watermark"
    SNAPSHOT = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITE = "ImageSprite"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    ADAPTIVE = "AdaptiveDynamicStreaming"


# Validation context for templates reelflow already holds: system presets, and template JSON
# stored with accepted sub-tasks and jobs. The documented ranges are the compatible API's
# limits on *custom* templates and inline parameters, yet the vendor's own presets step
# outside them (1100: AAC 24 kbps, 1020: MP3 320 kbps, sprite 10: 142x80 cells). Under this
# context the wider system ranges apply, so those presets validate and survive a JSON round
# trip: ``Model.model_validate(data, context=TRUSTED)``. Never pass it for user input.
TRUSTED: Mapping[str, bool] = MappingProxyType({"trusted": True})


def _is_trusted(info: ValidationInfo) -> bool:
    return isinstance(info.context, Mapping) and bool(info.context.get("trusted"))


def _zero_or_range(
    low: int, high: int, what: str, *, trusted: tuple[int, int] | None = None
) -> AfterValidator:
    def check(value: int, info: ValidationInfo) -> int:
        lo, hi = trusted if trusted is not None and _is_trusted(info) else (low, high)
        if value != 0 and not lo <= value <= hi:
            raise ValueError(f"{what} must be 0 or {lo}..{hi}, got {value}")
        return value

    return AfterValidator(check)


def _alias(table: dict[str, str]) -> BeforeValidator:
    def normalize(value: object) -> object:
        if isinstance(value, str):
            low = value.strip().lower()
            return table.get(low, low)
        return value

    return BeforeValidator(normalize)


Dimension = Annotated[
    int, Field(ge=0), _zero_or_range(128, 4096, "width/height", trusted=(16, 4096))
]
Switch = Annotated[bool, BeforeValidator(lambda v: bool(v) if isinstance(v, int) else v)]
ResolutionAdaptive = Literal["open", "close"]
FillType = Literal["stretch", "black", "white", "gauss"]
ImageFormat = Literal["jpg", "png", "webp"]

# ``VideoLevel`` values the compatible API lists per codec ("" = the encoder's choice).
H264_LEVELS = frozenset(
    {"1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1", "4.2", "5", "5.1"}
)
H265_LEVELS = frozenset(
    {"1", "2", "2.1", "3", "3.1", "4", "4.1", "5", "5.1", "5.2", "6", "6.1", "6.2", "8.5"}
)
# A transcode's per-title members (issue 18): a ladder asks for one on the template
# (``LadderTemplate.ladder``), so its rungs refuse them.
PER_TITLE_VIDEO_FIELDS = ("content_adapt_stream", "target_vmaf")
# The advanced ``VideoTemplateInfo`` members a transcode honours (issue 20); an adaptive
# ladder's rungs do not (``compat.ladders`` refuses them there).
ADVANCED_VIDEO_FIELDS = (
    "hls_time",
    "segment_type",
    "video_profile",
    "video_level",
    "bframes",
    "mode",
    "sar",
    *PER_TITLE_VIDEO_FIELDS,
)


@dataclass(frozen=True)
class HlsSegments:
    """How an HLS rendition's media is cut (``VideoTemplateInfo.SegmentType``): the media
    files' extension, whether they are fMP4 (an init section, ``EXT-X-MAP``) and whether
    they are one file addressed by byte ranges (``EXT-X-BYTERANGE``)."""

    ext: str
    fmp4: bool
    single_file: bool


# The SDK's values (0: TS segments, 2: TS byte range, 7: fMP4 segments, 5: fMP4 byte
# range), all four written by FFmpeg's HLS muxer.
HLS_SEGMENT_TYPES: Mapping[int, HlsSegments] = MappingProxyType(
    {
        0: HlsSegments("ts", fmp4=False, single_file=False),
        2: HlsSegments("ts", fmp4=False, single_file=True),
        7: HlsSegments("m4s", fmp4=True, single_file=False),
        5: HlsSegments("mp4", fmp4=True, single_file=True),
    }
)


def _check_segment_type(value: int | None) -> int | None:
    if value is not None and value not in HLS_SEGMENT_TYPES:
        raise ValueError(
            f"segment_type must be 0 (TS segments), 2 (TS byte range), 7 (fMP4 segments) "
            f"or 5 (fMP4 byte range), got {value}"
        )
    return value


class VideoTemplate(Spec):
    """Video parameters of a transcode (``VideoTemplateInfo``)."""

    codec: Annotated[VideoCodec, _alias(VIDEO_CODEC_ALIASES)]
    fps: Annotated[int, Field(ge=0, le=120)] = 0
    bitrate: Annotated[int, Field(ge=0), _zero_or_range(128, 100000, "bitrate (kbps)")] = 0
    resolution_adaptive: ResolutionAdaptive = "open"
    width: Dimension = 0
    height: Dimension = 0
    gop: Annotated[int, Field(ge=0, le=100000)] = 0
    gop_unit: Literal["frame", "second"] = "frame"
    fill_type: FillType = "black"
    vcrf: Annotated[int | None, Field(ge=0, le=51)] = None
    # reelflow's own: the encoder speed/quality trade-off (x264/x265 preset names); None =
    # the global REELFLOW_VIDEO_PRESET.
    preset: X264Preset | None = None
    # reelflow's own: by default a rendition never exceeds the source's resolution.
    allow_upscale: bool = False
    # The advanced members (None / "" = the encoder's choice, as the vendor's "auto").
    # HLS only: segment duration in seconds (None: 10 s) and segment type (None/0: TS
    # segments; HLS_SEGMENT_TYPES); other containers ignore both.
    hls_time: Annotated[int | None, Field(ge=0, le=10)] = None
    segment_type: Annotated[int | None, AfterValidator(_check_segment_type)] = None
    video_profile: Annotated[Literal["", "default", "baseline", "main", "high"], _alias({})] = ""
    video_level: str = ""
    bframes: Annotated[int | None, Field(ge=0, le=16)] = None
    # Rate control: VBR (a target with a 1.5x peak), ABR (a target), CBR (the target held,
    # padded), VCRF (constant quality); "" = VBR with a bitrate, else VCRF.
    mode: Annotated[
        Literal["", "VBR", "ABR", "CBR", "VCRF"],
        BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    ] = ""
    sar: Literal["", "default", "1:1", "2:1"] = ""
    # Per-title (issue 18; the compatible API's ``ContentAdaptStream`` 1): the transcodes
    # of one task asking for it form a set whose sizes and bitrates an analysis of the
    # source chooses, the top one reaching ``target_vmaf`` (None: 93); the templates' own
    # are the fixed ladder it is compared with (``reelflow.executors.pertitle``).
    content_adapt_stream: Switch = False
    target_vmaf: Annotated[float | None, Field(ge=30, le=100)] = None

    @model_validator(mode="after")
    def _check_advanced(self) -> VideoTemplate:
        codec = self.codec.value
        if self.target_vmaf is not None and not self.content_adapt_stream:
            raise ValueError("target_vmaf needs content_adapt_stream")
        if self.content_adapt_stream and codec not in ("h264", "h265"):
            raise ValueError(f"content_adapt_stream is for h264 and h265 only, not {codec}")
        if self.video_profile not in ("", "default") and codec != "h264":
            raise ValueError(f"video_profile is for h264 only, not {codec}")
        if self.video_level:
            levels = {"h264": H264_LEVELS, "h265": H265_LEVELS}.get(codec)
            if levels is None:
                raise ValueError(f"video_level is for h264 and h265 only, not {codec}")
            if self.video_level not in levels:
                allowed = ", ".join(sorted(levels, key=float))
                raise ValueError(f"video_level for {codec} must be one of {allowed}")
        if self.bframes is not None and codec not in ("h264", "h265"):
            raise ValueError(f"bframes is for h264 and h265 only, not {codec}")
        if self.mode in ("ABR", "CBR") and not self.bitrate:
            raise ValueError(f"mode {self.mode} needs a bitrate")
        return self


def _check_sample_rate(value: int) -> int:
    # A field validator (not a model one) so the error names ``audio_template.sample_rate``.
    if value not in SAMPLE_RATES:
        rates = ", ".join(str(r) for r in sorted(SAMPLE_RATES))
        raise ValueError(f"sample_rate must be one of {rates}, got {value}")
    return value


class AudioTemplate(Spec):
    """Audio parameters of a transcode (``AudioTemplateInfo``)."""

    codec: Annotated[AudioCodec, _alias(AUDIO_CODEC_ALIASES)]
    bitrate: Annotated[
        int, Field(ge=0), _zero_or_range(26, 256, "audio bitrate (kbps)", trusted=(8, 320))
    ] = 0
    sample_rate: Annotated[int, AfterValidator(_check_sample_rate)] = 0
    audio_channel: Literal[0, 1, 2, 6] = 2


class TranscodeTemplate(Spec):
    """A transcode template (``CreateTranscodeTemplate``)."""

    container: Annotated[
        Literal[
            "mp4", "mov", "mkv", "webm", "flv", "ts", "hls", "mp3", "m4a", "ogg", "flac", "wav"
        ],
        _alias({}),
    ]
    name: Annotated[str, Field(max_length=64)] = ""
    comment: Annotated[str, Field(max_length=256)] = ""
    remove_video: Switch = False
    remove_audio: Switch = False
    video_template: VideoTemplate | None = None
    audio_template: AudioTemplate | None = None
    # Score each rendition made with this template against its source (VMAF, PSNR, SSIM;
    # issue 18), whatever the task asks. reelflow's own: the compatible API's answers leave
    # it out (compat.trim).
    quality: bool = False

    @model_validator(mode="after")
    def _check_streams(self) -> TranscodeTemplate:
        video_ok, audio_ok = CONTAINERS[self.container]
        audio_only = self.container in AUDIO_ONLY_CONTAINERS
        if audio_only and not self.remove_video:
            object.__setattr__(self, "remove_video", True)
        if self.remove_video and self.remove_audio:
            raise ValueError("remove_video and remove_audio cannot both be set: nothing to output")
        if not self.remove_video:
            if self.video_template is None:
                raise ValueError("video_template is required unless remove_video is set")
            if self.video_template.codec not in video_ok:
                raise ValueError(
                    f"video codec {self.video_template.codec.value} cannot go in "
                    f"{self.container}; use one of {', '.join(sorted(video_ok))}"
                )
        if not self.remove_audio:
            if self.audio_template is None:
                raise ValueError("audio_template is required unless remove_audio is set")
            if self.audio_template.codec not in audio_ok:
                raise ValueError(
                    f"audio codec {self.audio_template.codec.value} cannot go in "
                    f"{self.container}; use one of {', '.join(sorted(audio_ok))}"
                )
        return self

    @property
    def needs_video(self) -> bool:
        return not self.remove_video

    @property
    def hls_segments(self) -> HlsSegments:
        """How an HLS rendition's media is cut (the video template's ``segment_type``)."""
        video = self.video_template
        kind = video.segment_type if video is not None and video.segment_type else 0
        return HLS_SEGMENT_TYPES[kind]

    @property
    def format(self) -> str:
        """The output file extension (``{format}``)."""
        return "m3u8" if self.container == "hls" else self.container


def _size_value(what: str, allow_zero: bool = True) -> AfterValidator:
    def check(value: str) -> str:
        size = Size.parse(value, what=what)
        number = size.number
        if not size.is_percent and number != 0 and not 8 <= number <= 4096:
            raise ValueError(f"{what} in px must be 8..4096, got {value!r}")
        if not size.is_percent and number == 0 and not allow_zero:
            raise ValueError(f"{what} must not be 0")
        if size.is_percent and number > 100:
            raise ValueError(f"{what} in % must be at most 100, got {value!r}")
        return value

    return AfterValidator(check)


def _offset_value(what: str) -> AfterValidator:
    def check(value: str) -> str:
        Size.parse(value, what=what)
        return value

    return AfterValidator(check)


def _check_image(value: str, info: ValidationInfo) -> str:
    # Decoded once, when the request arrives; a stored template was checked then.
    if not _is_trusted(info):
        decode_image(value)
    return value


class ImageWatermark(Spec):
    """``ImageWatermarkInput``: base64 PNG/JPEG content and its size on the video.

    The image is checked when the template or request arrives (``specs.images``).
    """

    image_content: Annotated[str, Field(min_length=1), AfterValidator(_check_image)]
    width: Annotated[str, _size_value("width", allow_zero=False)] = "10%"
    height: Annotated[str, _size_value("height")] = "0px"
    repeat_type: Literal["once", "repeat_last_frame", "repeat"] = "repeat"
    # Where the compatible API's inline watermark (``RawWatermarkParameter``) had its image:
    # ``bucket/key`` or the http(s) URL, shown back as the ``MediaInputInfo`` it was given
    # as. Empty otherwise.
    image_origin: str = ""


class TextWatermark(Spec):
    """``TextWatermarkTemplateInput``."""

    font_type: Literal["simkai.ttf", "arial.ttf"] = "arial.ttf"
    font_size: Annotated[str, _size_value("font_size", allow_zero=False)] = "16px"
    font_color: Annotated[str, Field(pattern=r"^0[xX][0-9a-fA-F]{6}$")] = "0xFFFFFF"
    font_alpha: Annotated[float, Field(gt=0, le=1)] = 1.0
    text_content: Annotated[str, Field(max_length=100)] = ""


class WatermarkTemplate(Spec):
    """A watermark template (``CreateWatermarkTemplate``): image or text."""

    type: Literal["image", "text"]
    name: Annotated[str, Field(max_length=64)] = ""
    comment: Annotated[str, Field(max_length=256)] = ""
    coordinate_origin: Literal["TopLeft", "TopRight", "BottomLeft", "BottomRight"] = "TopLeft"
    x_pos: Annotated[str, _offset_value("x_pos")] = "0px"
    y_pos: Annotated[str, _offset_value("y_pos")] = "0px"
    image_template: ImageWatermark | None = None
    text_template: TextWatermark | None = None

    @model_validator(mode="after")
    def _check_type(self) -> WatermarkTemplate:
        if self.type == "image" and self.image_template is None:
            raise ValueError("image_template is required for an image watermark")
        if self.type == "text" and self.text_template is None:
            raise ValueError("text_template is required for a text watermark")
        return self


class ImageTemplate(Spec):
    """Fields shared by the still-image templates."""

    name: Annotated[str, Field(max_length=64)] = ""
    comment: Annotated[str, Field(max_length=256)] = ""
    width: Dimension = 0
    height: Dimension = 0
    resolution_adaptive: ResolutionAdaptive = "open"
    format: ImageFormat = "jpg"
    fill_type: FillType = "black"


class SnapshotTemplate(ImageTemplate):
    """``CreateSnapshotByTimeOffsetTemplate``: screenshots at given time offsets."""


class SampleSnapshotTemplate(ImageTemplate):
    """``CreateSampleSnapshotTemplate``: a screenshot every N percent or N seconds."""

    sample_type: Literal["Percent", "Time"]
    sample_interval: Annotated[int, Field(ge=1, le=INT64_MAX)]

    @model_validator(mode="after")
    def _check_interval(self) -> SampleSnapshotTemplate:
        if self.sample_type == "Percent" and self.sample_interval > 100:
            raise ValueError("sample_interval is a percentage: at most 100")
        return self


class ImageSpriteTemplate(SampleSnapshotTemplate):
    """``CreateImageSpriteTemplate``: thumbnails in a rows x columns grid, plus a WebVTT index.

    ``width``/``height`` are the size of one cell.
    """

    row_count: Annotated[int, Field(ge=1, le=100)]
    column_count: Annotated[int, Field(ge=1, le=100)]
    fill_type: Literal["stretch", "black"] = "black"

    @model_validator(mode="after")
    def _check_grid(self) -> ImageSpriteTemplate:
        if self.row_count * self.column_count > 100:
            raise ValueError("row_count x column_count must be at most 100 cells")
        return self


class AnimatedGraphicsTemplate(Spec):
    """``CreateAnimatedGraphicsTemplate``: a GIF or animated WebP from a time range."""

    name: Annotated[str, Field(max_length=64)] = ""
    comment: Annotated[str, Field(max_length=256)] = ""
    fps: Annotated[int, Field(ge=1, le=30)]
    quality: Annotated[float, Field(ge=1, le=100)] = 75.0
    format: Literal["gif", "webp"] = "gif"
    width: Dimension = 0
    height: Dimension = 0
    resolution_adaptive: ResolutionAdaptive = "open"
