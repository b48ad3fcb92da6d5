"""Which fields the compatible API requires (mps-api.md §3-4, ``*`` fields), as data.

The official SDK checks nothing client-side, so the server does: an absent or ``null``
required field is ``MissingParameter`` naming its path. Requirements that depend on another
field's value (``CosInputInfo`` when ``Type`` is ``COS``) are checked where that value is
read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reelflow.api.mps.params import invalid, join, missing


@dataclass(frozen=True)
class Struct:
    """A structure: its required fields and the structures nested in it."""

    required: tuple[str, ...] = ()
    children: Mapping[str, Struct | Each] = field(default_factory=dict)


@dataclass(frozen=True)
class Each:
    """An array of ``item`` structures."""

    item: Struct


def check(struct: Struct, data: Any, path: str) -> None:
    """``MissingParameter`` for the first required field absent anywhere in ``data``."""
    if not isinstance(data, dict):
        raise invalid(path, "must be an object")
    for name in struct.required:
        if data.get(name) is None:
            raise missing(join(path, name))
    for name, child in struct.children.items():
        value = data.get(name)
        if value is None:
            continue
        where = join(path, name)
        if isinstance(child, Each):
            if not isinstance(value, list):
                raise invalid(where, "must be an array")
            for position, item in enumerate(value):
                check(child.item, item, join(where, position))
        else:
            check(child, value, where)


VIDEO = Struct(("Codec", "Fps", "Bitrate"))
AUDIO = Struct(("Codec", "Bitrate", "SampleRate"))
TRANSCODE_TEMPLATE = Struct(("Container",), {"VideoTemplate": VIDEO, "AudioTemplate": AUDIO})
WATERMARK_TEMPLATE = Struct(
    ("Type",),
    {
        "ImageTemplate": Struct(("ImageContent",)),
        "TextTemplate": Struct(("FontType", "FontSize", "FontColor", "FontAlpha")),
    },
)
SNAPSHOT_TEMPLATE = Struct()
SAMPLE_SNAPSHOT_TEMPLATE = Struct(("SampleType", "SampleInterval"))
IMAGE_SPRITE_TEMPLATE = Struct(("SampleType", "SampleInterval", "RowCount", "ColumnCount"))
ANIMATED_GRAPHICS_TEMPLATE = Struct(("Fps",))
# Its stream infos' members are checked by ``reelflow.compat.ladders`` (Video unless
# RemoveVideo or PureAudio, ...), which names them the same way.
ADAPTIVE_TEMPLATE = Struct(("Format", "StreamInfos"))

OUTPUT_STORAGE = Struct(("Type",), {"S3OutputStorage": Struct(("S3Bucket", "S3Region"))})
_WATERMARKS = Each(Struct(("Definition",)))
_OUT = {"OutputStorage": OUTPUT_STORAGE}
MEDIA_PROCESS_TASK = Struct(
    (),
    {
        "TranscodeTaskSet": Each(
            Struct(
                ("Definition",),
                {"RawParameter": TRANSCODE_TEMPLATE, "WatermarkSet": _WATERMARKS, **_OUT},
            )
        ),
        "AnimatedGraphicTaskSet": Each(
            Struct(("Definition", "StartTimeOffset", "EndTimeOffset"), _OUT)
        ),
        "SnapshotByTimeOffsetTaskSet": Each(
            Struct(("Definition",), {"WatermarkSet": _WATERMARKS, **_OUT})
        ),
        "SampleSnapshotTaskSet": Each(
            Struct(("Definition",), {"WatermarkSet": _WATERMARKS, **_OUT})
        ),
        "ImageSpriteTaskSet": Each(Struct(("Definition",), _OUT)),
        "AdaptiveDynamicStreamingTaskSet": Each(Struct(("Definition",), _OUT)),
    },
)
INPUT_INFO = Struct(
    ("Type",),
    {
        "CosInputInfo": Struct(("Bucket", "Region", "Object")),
        "UrlInputInfo": Struct(("Url",)),
        "S3InputInfo": Struct(("S3Bucket", "S3Region", "S3Object")),
    },
)
TRIGGER = Struct(
    ("Type",),
    {
        "CosFileUploadTrigger": Struct(("Bucket", "Region")),
        "AwsS3FileUploadTrigger": Struct(("S3Bucket", "S3Region")),
    },
)
_TASK_PARTS: dict[str, Struct | Each] = {
    "OutputStorage": OUTPUT_STORAGE,
    "MediaProcessTask": MEDIA_PROCESS_TASK,
}
PROCESS_MEDIA = Struct(("InputInfo",), {"InputInfo": INPUT_INFO, **_TASK_PARTS})
CREATE_WORKFLOW = Struct(("WorkflowName", "Trigger"), {"Trigger": TRIGGER, **_TASK_PARTS})
RESET_WORKFLOW = Struct(
    ("WorkflowId", "WorkflowName", "Trigger"), {"Trigger": TRIGGER, **_TASK_PARTS}
)
CREATE_SCHEDULE = Struct(
    ("ScheduleName", "Trigger", "Activities"),
    {"Trigger": TRIGGER, "OutputStorage": OUTPUT_STORAGE},
)
MODIFY_SCHEDULE = Struct(("ScheduleId",), {"Trigger": TRIGGER, "OutputStorage": OUTPUT_STORAGE})
