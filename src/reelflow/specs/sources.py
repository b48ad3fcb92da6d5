"""Task sources: where a task's input is, and the inputs of a clip-and-join task.

Apart from ``specs.requests`` so that the sub-task vocabulary (``specs.subtasks``) can name
an edit's input without importing the request (which imports the schedules, which import
the sub-tasks).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from reelflow.errors import InvalidKey
from reelflow.object_keys import validate_key
from reelflow.specs.base import Spec
from reelflow.specs.units import INT64_MAX


def valid_key(key: str, what: str) -> str:
    """An object key (or folder) as the storage layer accepts it; ValueError otherwise."""
    try:
        return validate_key(key)
    except InvalidKey as exc:
        raise ValueError(f"{what}: {exc.message}") from None


class TaskSource(Spec):
    """Where the source file is: a bucket object, an http(s) URL, or (CLI only) a local file."""

    type: Literal["bucket", "url", "file"]
    bucket: str = ""
    key: str = ""
    url: str = ""
    path: str = ""

    @model_validator(mode="after")
    def _check_fields(self) -> TaskSource:
        if self.type == "bucket" and not (self.bucket and self.key):
            raise ValueError("a bucket source needs bucket and key")
        if self.type == "bucket":
            object.__setattr__(self, "key", valid_key(self.key, "key"))
        if self.type == "url" and not self.url.startswith(("http://", "https://")):
            raise ValueError("a url source needs an http:// or https:// url")
        if self.type == "file" and not self.path:
            raise ValueError("a file source needs a path")
        return self

    @property
    def name(self) -> str:
        """The file name the source is known by (its last path segment)."""
        raw = {"bucket": self.key, "url": self.url.split("?")[0], "file": self.path}[self.type]
        return raw.rstrip("/").rsplit("/", 1)[-1]

    @property
    def directory(self) -> str:
        """The folder of a bucket source (``up/``), else empty (the bucket root)."""
        if self.type != "bucket" or "/" not in self.key.strip("/"):
            return ""
        return self.key.strip("/").rsplit("/", 1)[0] + "/"


# Clip and join (the compatible API's ``EditMedia``): a task whose source is several inputs.
# The task's source is the first input (probed like any source: its parameters are the
# join's target); the task has one sub-task of kind ``EditMedia`` whose input is the whole
# ``EditMediaInput`` (every input with its cut) and whose template is the output's
# ``TranscodeTemplate`` (a given one, or H.264/AAC at the first input's parameters).
EDIT_CONTAINERS = ("mp4", "hls", "mov", "flv", "mkv")


class EditFileInfo(Spec):
    """One input and the part of it kept (``end_time_offset`` absent: to its end)."""

    source: TaskSource
    start_time_offset: Annotated[float, Field(ge=0)] = 0.0
    end_time_offset: Annotated[float, Field(ge=0)] | None = None
    id: Annotated[str, Field(max_length=64)] = ""

    @model_validator(mode="after")
    def _check_cut(self) -> EditFileInfo:
        end = self.end_time_offset
        if end is not None and end and end <= self.start_time_offset:
            raise ValueError("end_time_offset must be after start_time_offset")
        return self


class EditMediaInput(Spec):
    """What to join, and how: ``fast`` joins by stream copy (cuts at keyframes) when every
    input shares its codecs and parameters, else re-encodes; ``definition`` names a
    transcode template for the re-encode (0: H.264/AAC at the first input's parameters)."""

    file_infos: Annotated[list[EditFileInfo], Field(min_length=1, max_length=10)]
    output_object_path: str = ""
    container: Literal["mp4", "mov", "flv", "mkv", "hls"] = "mp4"
    fast: bool = False
    definition: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0
