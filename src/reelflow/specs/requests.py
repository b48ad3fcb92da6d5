"""Task requests: one source file plus what to do with it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidatorFunctionWrapHandler, field_validator, model_validator

from reelflow.specs.base import Spec
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.schedules import TaskSchedule
from reelflow.specs.sources import EditFileInfo, EditMediaInput, TaskSource, valid_key
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.units import INT64_MAX


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
    # A clip-and-join task (the compatible API's EditMedia); ``source`` is its first input
    # and ``media_process_task`` is empty. None for any other task.
    edit: EditMediaInput | None = None

    @field_validator("media_process_task", mode="wrap")
    @classmethod
    def _made_already(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        # An instance is valid already (or is an edit task's empty one: see below).
        return value if isinstance(value, MediaProcessTask) else handler(value)

    @model_validator(mode="before")
    @classmethod
    def _edit_without_task_sets(cls, data: object) -> object:
        # An edit task has no MediaProcessTask sub-tasks, which MediaProcessTask refuses
        # for every other task: an empty one is made here, unvalidated.
        if not isinstance(data, dict) or data.get("edit", data.get("Edit")) is None:
            return data
        given = data.get("media_process_task", data.get("MediaProcessTask"))
        if isinstance(given, dict) and any(given.values()):
            return data  # refused by MediaProcessTask or _check_output
        rest = {
            k: v for k, v in data.items() if k not in ("media_process_task", "MediaProcessTask")
        }
        return {**rest, "media_process_task": MediaProcessTask.model_construct()}

    @model_validator(mode="after")
    def _check_output(self) -> TaskRequest:
        if self.source.type != "bucket" and not self.output_bucket:
            raise ValueError("output_bucket is required when the source is not a bucket object")
        if self.edit is not None and self.edit.file_infos[0].source != self.source:
            raise ValueError("an edit task's source is its first input")
        if self.edit is not None and self.media_process_task.count():
            raise ValueError("an edit task has no media_process_task")
        if self.output_dir and self.output_dir.strip("/"):
            valid_key(self.output_dir.strip("/"), "output_dir")
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


__all__ = ["EditFileInfo", "EditMediaInput", "TaskRequest", "TaskSource"]
