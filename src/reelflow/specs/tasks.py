"""Task inputs: what to run on one source file (``MediaProcessTaskInput`` and its parts)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_pascal

from reelflow.specs.base import Spec
from reelflow.specs.sources import TaskSource
from reelflow.specs.templates import Switch, TranscodeTemplate, WatermarkTemplate
from reelflow.specs.units import (
    INT64_MAX,
    MAX_TIME_OFFSET,
    Seconds,
    TimeOffset,
    check_end_after_start,
)

EndOffset = Annotated[TimeOffset | None, AfterValidator(check_end_after_start)]

MAX_SUBTASKS = 100  # the ceiling of the ``max_task_nodes`` setting

_OFFSET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|%)?\s*$")


def parse_time_offset(value: str) -> tuple[float, bool]:
    """``"3.5s"`` -> (3.5, False); ``"10%"`` -> (10.0, True); a bare number is seconds."""
    match = _OFFSET.match(value)
    if match is None:
        raise ValueError(f"time offset must look like '3.5s' or '10%', got {value!r}")
    number = float(match.group(1))
    percent = match.group(2) == "%"
    if percent and number > 100:
        raise ValueError(f"a percent time offset must be at most 100%, got {value!r}")
    if number > MAX_TIME_OFFSET:
        raise ValueError(f"a time offset must be at most {MAX_TIME_OFFSET:g}s, got {value!r}")
    return number, percent


def _check_offsets(values: list[str]) -> list[str]:
    for value in values:
        parse_time_offset(value)
    return values


class CosStorage(Spec):
    """``CosOutputStorage``: a bucket (by name) and its region; empty = inherit."""

    bucket: str = ""
    region: str = ""


class OutputStorage(Spec):
    """``TaskOutputStorage``. reelflow's buckets are named; ``COS`` selects one by name."""

    type: Literal["COS", "AWS-S3"] = "COS"
    cos_output_storage: CosStorage | None = None

    @property
    def bucket(self) -> str:
        return self.cos_output_storage.bucket if self.cos_output_storage else ""


class NumberFormat(Spec):
    """How ``{number}`` is written in output names."""

    initial_value: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0
    increment: Annotated[int, Field(ge=1, le=INT64_MAX)] = 1
    min_length: Annotated[int, Field(ge=1, le=32)] = 1
    place_holder: Annotated[str, Field(min_length=1, max_length=1)] = "0"

    def format(self, index: int) -> str:
        value = str(self.initial_value + index * self.increment)
        return value.rjust(self.min_length, self.place_holder)


class WatermarkInput(Spec):
    """A watermark applied to a sub-task: a template by id, or ``raw_parameter`` with id 0."""

    definition: Annotated[int, Field(ge=0, le=INT64_MAX)]
    raw_parameter: WatermarkTemplate | None = None
    text_content: Annotated[str | None, Field(max_length=100)] = None
    start_time_offset: TimeOffset | None = None
    end_time_offset: EndOffset = None

    @model_validator(mode="after")
    def _check_raw(self) -> WatermarkInput:
        if self.definition == 0 and self.raw_parameter is None:
            raise ValueError("raw_parameter is required when definition is 0")
        return self


Watermarks = Annotated[list[WatermarkInput], Field(max_length=10)]
ObjectPath = Annotated[str | None, Field(max_length=1024)]
# A node of the task graph is named by a short id (unique in its task).
NodeId = Annotated[str | None, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
_NODE_FIELDS = ("id", "input", "Id", "Input")


class SubTaskOutput(Spec):
    """Output fields every sub-task input may carry, and its place in the task graph:
    ``id`` names this sub-task (a node), ``input`` the ``id`` of the sub-task whose output it
    reads (``None``: the task's source). See ``reelflow.specs.graph``."""

    output_storage: OutputStorage | None = None
    output_object_path: ObjectPath = None
    object_number_format: NumberFormat | None = None
    ext_info: str | None = None
    id: NodeId = None
    input: NodeId = None

    @model_serializer(mode="wrap")
    def _without_unset_node(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, object]:
        # A sub-task outside any graph answers exactly as before the graph existed (the
        # compatible API's shapes have no such members).
        data: dict[str, object] = handler(self)
        for name in _NODE_FIELDS:
            if name in data and data[name] is None:
                del data[name]
        return data

    def without_node(self) -> dict[str, object]:
        """``to_json()`` without ``id`` and ``input`` (kept apart, in ``SubTaskSpec``)."""
        data = self.to_json()
        data.pop("id", None)
        data.pop("input", None)
        return data


class OverrideTranscodeParameter(Spec):
    """``OverrideTranscodeParameter``: fields of the named transcode template replaced for
    this sub-task only; ``video_template``/``audio_template`` are merged field by field (keys
    in either case, as the template's). Absent or null: the template's value."""

    container: str | None = None
    remove_video: Switch | None = None
    remove_audio: Switch | None = None
    video_template: dict[str, Any] | None = None
    audio_template: dict[str, Any] | None = None

    def apply(self, template: TranscodeTemplate) -> TranscodeTemplate:
        """``template`` with these fields; ``ValidationError`` if the result is invalid."""
        merged = template.to_mps()
        for name, value in (
            ("Container", self.container),
            ("RemoveVideo", self.remove_video),
            ("RemoveAudio", self.remove_audio),
        ):
            if value is not None:
                merged[name] = value
        for name, fields in (("VideoTemplate", self.video_template),
                             ("AudioTemplate", self.audio_template)):  # fmt: skip
            if fields:
                given = {
                    (to_pascal(k) if k == k.lower() else k): v
                    for k, v in fields.items()
                    if v is not None
                }
                merged[name] = {**(merged.get(name) or {}), **given}
        return TranscodeTemplate.model_validate(merged)


class HeadTailParameter(Spec):
    """``HeadTailParameter``: clips joined before (``head_set``) and after (``tail_set``) the
    rendition, in order, each normalised to the rendition's size, frame rate and audio."""

    head_set: Annotated[list[TaskSource], Field(max_length=10)] = []
    tail_set: Annotated[list[TaskSource], Field(max_length=10)] = []


class TranscodeTaskInput(SubTaskOutput):
    """A rendition of the source: template `definition` (0 with `raw_parameter` for an inline
    template), optional watermarks and output path."""

    definition: Annotated[int, Field(ge=0, le=INT64_MAX)]
    raw_parameter: TranscodeTemplate | None = None
    override_parameter: OverrideTranscodeParameter | None = None
    head_tail_parameter: HeadTailParameter | None = None
    watermark_set: Watermarks = []
    start_time_offset: TimeOffset | None = None
    end_time_offset: EndOffset = None
    segment_object_name: ObjectPath = None

    @model_validator(mode="after")
    def _check_raw(self) -> TranscodeTaskInput:
        if self.definition == 0 and self.raw_parameter is None:
            raise ValueError("raw_parameter is required when definition is 0")
        return self


class AnimatedGraphicTaskInput(SubTaskOutput):
    """An animated GIF/WebP of the source from `start_time_offset` to `end_time_offset`
    (seconds), by template `definition`."""

    definition: Annotated[int, Field(ge=1, le=INT64_MAX)]
    start_time_offset: Seconds = 0.0
    end_time_offset: Seconds = 0.0

    @model_validator(mode="after")
    def _check_range(self) -> AnimatedGraphicTaskInput:
        if self.end_time_offset and self.end_time_offset <= self.start_time_offset:
            raise ValueError("end_time_offset must be after start_time_offset")
        return self


class SnapshotByTimeOffsetTaskInput(SubTaskOutput):
    """Screenshots at the given time offsets (`ext_time_offset_set`: `"1.5s"` or `"50%"`), by
    template `definition`."""

    definition: Annotated[int, Field(ge=1, le=INT64_MAX)]
    ext_time_offset_set: Annotated[list[str], AfterValidator(_check_offsets)] = []
    time_offset_set: list[Seconds] = []
    watermark_set: Watermarks = []

    @model_validator(mode="after")
    def _check_times(self) -> SnapshotByTimeOffsetTaskInput:
        if not self.ext_time_offset_set and not self.time_offset_set:
            raise ValueError("give at least one time offset (ext_time_offset_set)")
        if len(self.ext_time_offset_set) + len(self.time_offset_set) > 1000:
            raise ValueError("at most 1000 time offsets")
        return self

    def offsets(self) -> list[tuple[float, bool]]:
        """Every time point as (value, is_percent), legacy seconds first."""
        points = [(t, False) for t in self.time_offset_set]
        return points + [parse_time_offset(v) for v in self.ext_time_offset_set]


class SampleSnapshotTaskInput(SubTaskOutput):
    """Screenshots every N percent or N seconds of the source, by template `definition`."""

    definition: Annotated[int, Field(ge=1, le=INT64_MAX)]
    watermark_set: Watermarks = []


class ImageSpriteTaskInput(SubTaskOutput):
    """Image sprite sheets (thumbnails in a grid) and their WebVTT index, by template
    `definition`."""

    definition: Annotated[int, Field(ge=1, le=INT64_MAX)]
    web_vtt_object_name: ObjectPath = None


class AdaptiveDynamicStreamingTaskInput(SubTaskOutput):
    """An adaptive-bitrate ladder (HLS, MPEG-DASH or CMAF package) by ladder template
    `definition`. `output_object_path` names the master playlist / MPD; `sub_stream_object_name`
    and `segment_object_name` the renditions' playlists and segments (relative names, placed
    beside it; `{subStreamNumber}` and `{segmentNumber}` as mps-api.md section 8 says)."""

    definition: Annotated[int, Field(ge=1, le=INT64_MAX)]
    sub_stream_object_name: ObjectPath = None
    segment_object_name: ObjectPath = None


class MediaProcessTask(Spec):
    """``MediaProcessTaskInput``: every sub-task of one task, by kind."""

    transcode_task_set: list[TranscodeTaskInput] = []
    animated_graphic_task_set: list[AnimatedGraphicTaskInput] = []
    snapshot_by_time_offset_task_set: list[SnapshotByTimeOffsetTaskInput] = []
    sample_snapshot_task_set: list[SampleSnapshotTaskInput] = []
    image_sprite_task_set: list[ImageSpriteTaskInput] = []
    adaptive_dynamic_streaming_task_set: list[AdaptiveDynamicStreamingTaskInput] = []

    @model_validator(mode="after")
    def _check_not_empty(self) -> MediaProcessTask:
        if self.count() == 0:
            raise ValueError("a media process task needs at least one sub-task")
        if self.count() > MAX_SUBTASKS:
            raise ValueError(f"at most {MAX_SUBTASKS} sub-tasks in one task")
        return self

    def count(self) -> int:
        return (
            len(self.transcode_task_set)
            + len(self.animated_graphic_task_set)
            + len(self.snapshot_by_time_offset_task_set)
            + len(self.sample_snapshot_task_set)
            + len(self.image_sprite_task_set)
            + len(self.adaptive_dynamic_streaming_task_set)
        )
