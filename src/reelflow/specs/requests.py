"""Task requests: one source file plus what to do with it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from reelflow.errors import InvalidKey
from reelflow.object_keys import validate_key
from reelflow.specs.base import Spec
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.schedules import TaskSchedule
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.units import INT64_MAX


def _valid_key(key: str, what: str) -> str:
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
            object.__setattr__(self, "key", _valid_key(self.key, "key"))
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


class TaskRequest(Spec):
    """Everything needed to start a task (the native ``ProcessMedia``)."""

    source: TaskSource
    media_process_task: MediaProcessTask
    output_bucket: str = ""
    output_dir: str = ""
    priority: Annotated[int, Field(ge=-10, le=10)] = 0
    session_id: Annotated[str, Field(max_length=50)] = ""
    session_context: Annotated[str, Field(max_length=1000)] = ""
    workflow_id: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = None
    notify: NotifyTarget | None = None  # where the task's events go; None: nowhere
    # The layout of a task made from a schedule's steps (the compatible API's Activities);
    # None for any other task.
    schedule: TaskSchedule | None = None
    # The compatible API's Region of each bucket the request named, as the client sent it
    # (or as the answer to it would say): answers and event bodies repeat it. None: no
    # region known (a native or triggered task).
    regions: dict[str, Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=64
    )
    # Score every video rendition against the source (VMAF, PSNR, SSIM; issue 18). Native
    # only: the compatible API has no such parameter, and its answers never show the scores.
    quality: bool = False

    @model_validator(mode="after")
    def _check_output(self) -> TaskRequest:
        if self.source.type != "bucket" and not self.output_bucket:
            raise ValueError("output_bucket is required when the source is not a bucket object")
        if self.output_dir and self.output_dir.strip("/"):
            _valid_key(self.output_dir.strip("/"), "output_dir")
        if self.output_dir and not self.output_dir.endswith("/"):
            object.__setattr__(self, "output_dir", self.output_dir + "/")
        return self

    def resolved_output_bucket(self) -> str:
        return self.output_bucket or self.source.bucket

    def resolved_output_dir(self) -> str:
        """``output_dir`` without a leading ``/``; default: the source's folder."""
        if self.output_dir:
            return self.output_dir.lstrip("/")
        return self.source.directory
