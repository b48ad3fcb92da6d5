"""Sub-tasks after template resolution: what each unit of work is, independent of jobs.

A task request names templates by definition; at submission each sub-task is resolved to a
``SubTaskSpec`` carrying its full template, so later changes to a custom template never
change a task already accepted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from reelflow.specs.base import Spec
from reelflow.specs.tasks import (
    AnimatedGraphicTaskInput,
    ImageSpriteTaskInput,
    SampleSnapshotTaskInput,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
)
from reelflow.specs.templates import (
    TRUSTED,
    AnimatedGraphicsTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TranscodeTemplate,
    WatermarkTemplate,
)


class SubTaskKind(StrEnum):
    """Sub-task kinds, spelt as the compatible API's ``MediaProcessTaskResult.Type``."""

    TRANSCODE = "Transcode"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    SNAPSHOT = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITE = "ImageSprites"

    @property
    def needs_video(self) -> bool:
        return self is not SubTaskKind.TRANSCODE


TaskInput = (
    TranscodeTaskInput
    | AnimatedGraphicTaskInput
    | SnapshotByTimeOffsetTaskInput
    | SampleSnapshotTaskInput
    | ImageSpriteTaskInput
)
SubTaskTemplate = (
    TranscodeTemplate
    | AnimatedGraphicsTemplate
    | SnapshotTemplate
    | SampleSnapshotTemplate
    | ImageSpriteTemplate
)

INPUT_MODELS: dict[SubTaskKind, type[TaskInput]] = {
    SubTaskKind.TRANSCODE: TranscodeTaskInput,
    SubTaskKind.ANIMATED_GRAPHICS: AnimatedGraphicTaskInput,
    SubTaskKind.SNAPSHOT: SnapshotByTimeOffsetTaskInput,
    SubTaskKind.SAMPLE_SNAPSHOT: SampleSnapshotTaskInput,
    SubTaskKind.IMAGE_SPRITE: ImageSpriteTaskInput,
}
TEMPLATE_MODELS: dict[SubTaskKind, type[SubTaskTemplate]] = {
    SubTaskKind.TRANSCODE: TranscodeTemplate,
    SubTaskKind.ANIMATED_GRAPHICS: AnimatedGraphicsTemplate,
    SubTaskKind.SNAPSHOT: SnapshotTemplate,
    SubTaskKind.SAMPLE_SNAPSHOT: SampleSnapshotTemplate,
    SubTaskKind.IMAGE_SPRITE: ImageSpriteTemplate,
}


class ResolvedWatermark(Spec):
    """A watermark with its template looked up."""

    definition: int
    template: WatermarkTemplate
    text_content: str | None = None
    start_time_offset: float | None = None
    end_time_offset: float | None = None


class SubTaskSpec(Spec):
    """One sub-task with everything needed to run it (JSON-safe, stored with the sub-task).

    ``input`` is the task input as given (echoed in results); ``template`` the resolved
    template's JSON; ``output_bucket``/``output_dir`` the resolved location.
    """

    index: int
    kind: SubTaskKind
    definition: int
    input: dict[str, Any]
    template: dict[str, Any]
    watermarks: list[ResolvedWatermark] = []
    output_bucket: str
    output_dir: str

    def parsed_input(self) -> TaskInput:
        return INPUT_MODELS[self.kind].model_validate(self.input, context=TRUSTED)

    def parsed_template(self) -> SubTaskTemplate:
        # TRUSTED: the template was accepted at submission, or is a preset (which may sit
        # outside the custom-template ranges).
        return TEMPLATE_MODELS[self.kind].model_validate(self.template, context=TRUSTED)
