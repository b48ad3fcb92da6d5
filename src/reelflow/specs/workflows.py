"""Workflows: which uploads start a task, and what that task does.

A workflow is bound to a bucket and a folder prefix (``WorkflowTrigger``); an upload there
whose extension is in ``formats`` starts a task made from the workflow (``WorkflowSpec``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from reelflow.errors import InvalidKey
from reelflow.object_keys import validate_key
from reelflow.specs.base import Spec
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.subtasks import SubTaskKind
from reelflow.specs.tasks import MediaProcessTask, SubTaskOutput
from reelflow.specs.templates import TemplateKind

VIDEO_FORMATS = frozenset(
    {
        "mp4", "mov", "mkv", "webm", "flv", "avi", "wmv", "ts", "mts", "m2ts", "m4v",
        "mpg", "mpeg", "3gp", "mxf",
    }
)  # fmt: skip
AUDIO_FORMATS = frozenset({"mp3", "m4a", "aac", "wav", "flac", "ogg", "opus"})
MEDIA_FORMATS = VIDEO_FORMATS | AUDIO_FORMATS
"""What an empty ``formats`` list means: the common video and audio extensions."""
ANY_FORMAT = "*"

_FORMAT = re.compile(r"^[a-z0-9]{1,16}$")

# The sub-task sets of a MediaProcessTask, their kind and their template kind.
TASK_SETS: tuple[tuple[str, SubTaskKind, TemplateKind], ...] = (
    ("transcode_task_set", SubTaskKind.TRANSCODE, TemplateKind.TRANSCODE),
    ("animated_graphic_task_set", SubTaskKind.ANIMATED_GRAPHICS, TemplateKind.ANIMATED_GRAPHICS),
    ("snapshot_by_time_offset_task_set", SubTaskKind.SNAPSHOT, TemplateKind.SNAPSHOT),
    ("sample_snapshot_task_set", SubTaskKind.SAMPLE_SNAPSHOT, TemplateKind.SAMPLE_SNAPSHOT),
    ("image_sprite_task_set", SubTaskKind.IMAGE_SPRITE, TemplateKind.IMAGE_SPRITE),
    (
        "adaptive_dynamic_streaming_task_set",
        SubTaskKind.ADAPTIVE,
        TemplateKind.ADAPTIVE,
    ),
)


def _normalize_dir(value: str) -> str:
    """``/up/videos`` -> ``up/videos/``; ``""`` and ``/`` mean the whole bucket."""
    folder = value.strip("/")
    if not folder:
        return ""
    try:
        validate_key(folder)
    except InvalidKey as exc:
        raise ValueError(f"invalid folder prefix: {exc.message}") from None
    return folder + "/"


def _normalize_formats(value: object) -> object:
    if not isinstance(value, list):
        return value
    return [v.strip().lower().removeprefix(".") if isinstance(v, str) else v for v in value]


def _check_formats(values: list[str]) -> list[str]:
    for value in values:
        if value != ANY_FORMAT and not _FORMAT.match(value):
            raise ValueError(
                f"formats: {value!r} is not a file extension (letters and digits, no dot) "
                f"or {ANY_FORMAT!r}"
            )
    return list(dict.fromkeys(values))


class WorkflowTrigger(Spec):
    """Uploads to ``bucket`` under the folder ``dir`` whose extension is in ``formats``.

    ``dir`` is stored without a leading and with a trailing ``/`` (``""`` = the whole bucket).
    ``formats`` are lowercase extensions without the dot; empty = ``MEDIA_FORMATS``; ``*``
    matches any file, even one without an extension.
    """

    bucket: Annotated[str, Field(min_length=1, max_length=255)]
    dir: Annotated[str, Field(max_length=1024), AfterValidator(_normalize_dir)] = ""
    formats: Annotated[
        list[str],
        BeforeValidator(_normalize_formats),
        AfterValidator(_check_formats),
        Field(max_length=100),
    ] = []

    def matches(self, bucket: str, key: str) -> bool:
        """Whether an upload of ``key`` to ``bucket`` fires this trigger."""
        key = key.removeprefix("/")
        if bucket != self.bucket or not key or key.endswith("/") or not key.startswith(self.dir):
            return False
        if ANY_FORMAT in self.formats:
            return True
        name = key.rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        if not (dot and stem and ext):
            return False
        return ext.lower() in (self.formats or MEDIA_FORMATS)


class WorkflowSpec(Spec):
    """What an admin configures: trigger, media process task, output, notification, priority.

    ``output_bucket`` empty = the trigger bucket; ``output_dir`` empty = the folder of the
    uploaded file. ``notify``: where the events of the workflow's tasks go (none if null).
    """

    name: Annotated[str, Field(min_length=1, max_length=128)]
    trigger: WorkflowTrigger
    media_process_task: MediaProcessTask
    output_bucket: Annotated[str, Field(max_length=255)] = ""
    output_dir: Annotated[str, Field(max_length=1024)] = ""
    notify: NotifyTarget | None = None
    priority: Annotated[int, Field(ge=-10, le=10)] = 0
    quality: bool = False  # the tasks score their video renditions (TaskRequest.quality)


def subtask_inputs(mpt: MediaProcessTask) -> Iterator[tuple[str, SubTaskOutput, TemplateKind]]:
    """Every sub-task input with its field path (``media_process_task.<set>[i]``)."""
    for set_name, _kind, template_kind in TASK_SETS:
        items: list[SubTaskOutput] = getattr(mpt, set_name)
        for position, item in enumerate(items):
            yield f"media_process_task.{set_name}[{position}]", item, template_kind


def template_references(mpt: MediaProcessTask) -> set[tuple[TemplateKind, int]]:
    """Every (kind, definition) the task uses by id: sub-task templates and watermarks."""
    refs: set[tuple[TemplateKind, int]] = set()
    for _field, item, kind in subtask_inputs(mpt):
        definition = int(getattr(item, "definition", 0))
        if definition:
            refs.add((kind, definition))
        for watermark in getattr(item, "watermark_set", []):
            if watermark.definition:
                refs.add((TemplateKind.WATERMARK, watermark.definition))
    return refs
