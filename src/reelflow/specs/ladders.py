"""Adaptive-bitrate ladders: the template (what an admin asks for) and the resolved ladder
(what one source gets).

A ``LadderTemplate`` is the compatible API's ``AdaptiveDynamicStreamingTemplate`` (its stream
infos reuse the transcode template's ``VideoTemplate``/``AudioTemplate``, as the API's
``AdaptiveStreamTemplate`` does) plus reelflow's own ``CMAF`` format. The planner turns it,
with the probed source, into a ``ResolvedLadder`` (``reelflow.planner.ladder``): concrete
sizes, bitrates, one frame rate, one GOP rule, and the distinct audio renditions shared by the
video rungs. The media layer encodes and packages a ``ResolvedLadder`` in one FFmpeg process
(``reelflow.media.ladder``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from reelflow.specs.base import Spec
from reelflow.specs.pertitle import DEFAULT_TARGET_VMAF
from reelflow.specs.templates import AudioTemplate, Switch, VideoTemplate
from reelflow.specs.units import AudioCodec, VideoCodec


class LadderFormat(StrEnum):
    """How the ladder is packaged. ``CMAF`` (reelflow's own): one set of fMP4 segments with
    both an HLS master playlist and a DASH MPD over them."""

    HLS = "HLS"
    DASH = "MPEG-DASH"
    CMAF = "CMAF"


class SegmentType(StrEnum):
    """``SegmentType`` of the compatible API. The byte-range types write one file per
    rendition, addressed with byte ranges (HLS ``EXT-X-BYTERANGE``, DASH ``SegmentBase``)."""

    TS = "ts-segment"
    MP4 = "mp4-segment"
    TS_BYTERANGE = "ts-byterange"
    MP4_BYTERANGE = "mp4-byterange"

    @property
    def is_ts(self) -> bool:
        return self in (SegmentType.TS, SegmentType.TS_BYTERANGE)

    @property
    def single_file(self) -> bool:
        return self in (SegmentType.TS_BYTERANGE, SegmentType.MP4_BYTERANGE)


LADDER_VIDEO_CODECS = frozenset({VideoCodec.H264, VideoCodec.H265})
LADDER_AUDIO_CODECS = frozenset({AudioCodec.AAC})
MAX_STREAM_INFOS = 10


class StreamInfo(Spec):
    """One rung of the ladder (``AdaptiveStreamTemplate``): video + audio, or audio only.

    ``video.gop`` is honoured only below the segment duration: every rendition gets an IDR
    at each segment boundary whatever it says (see ``ResolvedLadder.keyint``).
    """

    video: VideoTemplate | None = None
    audio: AudioTemplate | None = None
    remove_audio: Switch = False
    remove_video: Switch = False

    @model_validator(mode="after")
    def _check(self) -> StreamInfo:
        if self.remove_video and self.remove_audio:
            raise ValueError("remove_video and remove_audio cannot both be set: nothing to stream")
        if not self.remove_video:
            if self.video is None:
                raise ValueError("video is required unless remove_video is set")
            if self.video.codec not in LADDER_VIDEO_CODECS:
                raise ValueError(
                    f"video.codec {self.video.codec.value} cannot go in an adaptive ladder; "
                    "use h264 or h265"
                )
            if self.video.content_adapt_stream:
                raise ValueError(
                    "video.content_adapt_stream is for transcode templates; a ladder asks "
                    'for a per-title ladder with "ladder": "auto"'
                )
        if not self.remove_audio:
            if self.audio is None:
                raise ValueError("audio is required unless remove_audio is set")
            if self.audio.codec not in LADDER_AUDIO_CODECS:
                raise ValueError(
                    f"audio.codec {self.audio.codec.value} cannot go in an adaptive ladder; use aac"
                )
        return self

    @property
    def has_video(self) -> bool:
        return not self.remove_video

    @property
    def has_audio(self) -> bool:
        return not self.remove_audio


_DEFAULT_SEGMENT = {
    LadderFormat.HLS: SegmentType.TS,
    LadderFormat.DASH: SegmentType.MP4,
    LadderFormat.CMAF: SegmentType.MP4,
}


class LadderTemplate(Spec):
    """An adaptive-streaming template (``CreateAdaptiveDynamicStreamingTemplate``).

    ``segment_type`` defaults to ``ts-segment`` for HLS and ``mp4-segment`` for DASH and
    CMAF (which carry fMP4 only). ``segment_seconds`` is the target segment duration (the
    API's ``HlsTime``, 1..10 s). ``disable_higher_video_*`` cap rungs above the source at the
    source's bitrate / size instead of dropping them (``reelflow.planner.ladder``).

    ``ladder`` ``"auto"`` (issue 18; the compatible API's ``ContentAdaptStream: 1``) asks
    for a per-title ladder: the job analyses the source and replaces each video rung's
    size and bitrate so that the top rung reaches ``target_vmaf`` (default 93) at the
    lowest bitrate, the rungs below spaced in quality (``reelflow.planner.pertitle``);
    the template's rungs are then the fixed ladder it is compared with.
    """

    format: LadderFormat
    stream_infos: Annotated[list[StreamInfo], Field(min_length=1, max_length=MAX_STREAM_INFOS)]
    name: Annotated[str, Field(max_length=64)] = ""
    comment: Annotated[str, Field(max_length=256)] = ""
    segment_type: SegmentType | None = None
    segment_seconds: Annotated[int, Field(ge=1, le=10)] = 6
    disable_higher_video_bitrate: Switch = False
    disable_higher_video_resolution: Switch = False
    pure_audio: Switch = False
    ladder: Literal["fixed", "auto"] = "fixed"
    target_vmaf: Annotated[float, Field(ge=30, le=100)] = DEFAULT_TARGET_VMAF

    @model_validator(mode="after")
    def _check(self) -> LadderTemplate:
        if self.ladder == "auto" and self.pure_audio:
            raise ValueError("ladder auto needs video rungs; a pure_audio template has none")
        if self.segment_type is None:
            object.__setattr__(self, "segment_type", _DEFAULT_SEGMENT[self.format])
        elif self.format is not LadderFormat.HLS and self.segment_type.is_ts:
            raise ValueError(
                f"segment_type {self.segment_type.value} is for HLS only; "
                f"{self.format.value} carries fMP4: use mp4-segment or mp4-byterange"
            )
        audio_only = [i for i, s in enumerate(self.stream_infos) if not s.has_video]
        if self.pure_audio and len(audio_only) != len(self.stream_infos):
            bad = next(i for i, s in enumerate(self.stream_infos) if s.has_video)
            raise ValueError(
                f"stream_infos.{bad}: a pure_audio template takes audio-only stream infos "
                "(remove_video set)"
            )
        if not self.pure_audio and audio_only:
            raise ValueError(
                f"stream_infos.{audio_only[0]}: an audio-only stream info needs pure_audio; "
                "video rungs share their audio as a rendition group"
            )
        codecs = {s.video.codec for s in self.stream_infos if s.video is not None}
        if len(codecs) > 1:
            raise ValueError("stream_infos: every video rung must use the same video codec")
        return self

    @property
    def segments(self) -> SegmentType:
        """``segment_type`` with its default applied."""
        assert self.segment_type is not None  # set by the validator
        return self.segment_type


class AudioRendition(Spec):
    """One audio rendition, encoded once and shared by every rung that names its ``group``.

    ``sample_rate`` and ``channels`` are concrete (the source's when the template said 0).
    """

    group: str
    codec: AudioCodec
    bitrate: int  # kbps
    sample_rate: int
    channels: int


class VideoRendition(Spec):
    """One video rung made concrete for a source. ``stream_info`` is its position in the
    template (the ``{subStreamNumber}`` of its files); ``audio_group`` names the
    ``AudioRendition`` played with it, empty for none."""

    stream_info: int
    codec: VideoCodec
    width: int
    height: int
    bitrate: int  # kbps; 0 = constant quality (crf)
    crf: int | None = None
    preset: str | None = None
    audio_group: str = ""
    fill_type: str = "black"
    # A per-title rung (issue 18): x264/x265 at this CRF, its rate capped by a VBV of
    # twice ``bitrate`` (kbps) over two seconds, instead of an average ``bitrate``.
    capped_crf: float | None = None


class ResolvedLadder(Spec):
    """A ladder made concrete for one source: the input of the media layer.

    All video rungs share ``fps`` (constant) and the keyframe rule: an IDR at every multiple
    of ``segment_seconds``, and at most ``keyint`` frames apart.
    """

    definition: int = 0
    format: LadderFormat
    segment_type: SegmentType
    segment_seconds: int
    fps: float = 0.0  # 0 for an audio-only ladder
    keyint: int = 0  # frames; 0 for an audio-only ladder
    video: list[VideoRendition] = []
    audio: list[AudioRendition] = []
    dropped: list[int] = []  # template stream infos left out for this source

    @property
    def audio_only(self) -> bool:
        return not self.video

    def audio_by_group(self, group: str) -> AudioRendition | None:
        return next((a for a in self.audio if a.group == group), None)


def _check_name(value: str, placeholders: tuple[str, ...], what: str) -> str:
    if not value or "/" in value or "\\" in value or value.startswith("."):
        raise ValueError(f"{what} must be a plain file name (no folder), got {value!r}")
    missing = [p for p in placeholders if p not in value]
    if missing:
        raise ValueError(f"{what} must contain {' and '.join(missing)}, got {value!r}")
    return value


class PackageNames(Spec):
    """File names of a package, without extensions, all in one folder.

    ``{subStreamNumber}`` counts the package's renditions (video rungs smallest first, then
    audio renditions), ``{segmentNumber}`` a rendition's segments from 0, as the compatible
    API's naming rules (mps-api.md section 8) say. Extensions come from the format: ``.m3u8``
    / ``.mpd`` manifests, ``.ts`` / ``.m4s`` segments, ``.mp4`` init and single-file media.
    A rendition's I-frame playlist is ``{sub_stream}_iframes.m3u8``, its init segment
    ``{sub_stream}_init.mp4``.
    """

    master: str = "master"
    sub_stream: str = "stream_{subStreamNumber}"
    segment: str = "stream_{subStreamNumber}_{segmentNumber}"

    @model_validator(mode="after")
    def _check(self) -> PackageNames:
        _check_name(self.master, (), "master")
        _check_name(self.sub_stream, ("{subStreamNumber}",), "sub_stream")
        _check_name(self.segment, ("{subStreamNumber}", "{segmentNumber}"), "segment")
        return self

    @classmethod
    def default(cls, input_name: str, definition: int) -> PackageNames:
        """The compatible API's default names (``{inputName}_adaptiveDynamicStreaming_…``)."""
        stem = f"{input_name}_adaptiveDynamicStreaming_{definition}"
        return cls(
            master=stem,
            sub_stream=stem + "_{subStreamNumber}",
            segment=stem + "_{subStreamNumber}_{segmentNumber}",
        )

    def stream(self, number: int) -> str:
        return self.sub_stream.replace("{subStreamNumber}", str(number))

    def segment_name(self, number: int, segment: int | str) -> str:
        return self.segment.replace("{subStreamNumber}", str(number)).replace(
            "{segmentNumber}", str(segment)
        )
