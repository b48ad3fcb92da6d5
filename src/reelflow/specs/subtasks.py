"""Sub-tasks after template resolution: what each unit of work is, independent of jobs.

A task request names templates by definition; at submission each sub-task is resolved to a
``SubTaskSpec`` carrying its full template, so later changes to a custom template never
change a task already accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import PrivateAttr

from reelflow.specs.base import Spec
from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.sources import EditMediaInput
from reelflow.specs.tasks import (
    AdaptiveDynamicStreamingTaskInput,
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
from reelflow.specs.units import Size


class SubTaskKind(StrEnum):
    """Sub-task kinds, spelt as the compatible API's ``MediaProcessTaskResult.Type``."""

    TRANSCODE = "Transcode"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    SNAPSHOT = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITE = "ImageSprites"
    ADAPTIVE = "AdaptiveDynamicStreaming"
    EDIT = "EditMedia"  # the one sub-task of a clip-and-join task (specs.requests)

    @property
    def needs_video(self) -> bool:
        return self not in (SubTaskKind.TRANSCODE, SubTaskKind.EDIT)


TaskInput = (
    TranscodeTaskInput
    | AnimatedGraphicTaskInput
    | SnapshotByTimeOffsetTaskInput
    | SampleSnapshotTaskInput
    | ImageSpriteTaskInput
    | AdaptiveDynamicStreamingTaskInput
)
SubTaskTemplate = (
    TranscodeTemplate
    | AnimatedGraphicsTemplate
    | SnapshotTemplate
    | SampleSnapshotTemplate
    | ImageSpriteTemplate
    | LadderTemplate
)

INPUT_MODELS: dict[SubTaskKind, type[TaskInput]] = {
    SubTaskKind.TRANSCODE: TranscodeTaskInput,
    SubTaskKind.ANIMATED_GRAPHICS: AnimatedGraphicTaskInput,
    SubTaskKind.SNAPSHOT: SnapshotByTimeOffsetTaskInput,
    SubTaskKind.SAMPLE_SNAPSHOT: SampleSnapshotTaskInput,
    SubTaskKind.IMAGE_SPRITE: ImageSpriteTaskInput,
    SubTaskKind.ADAPTIVE: AdaptiveDynamicStreamingTaskInput,
}  # an EditMedia sub-task's input: SubTaskSpec.parsed_edit
TEMPLATE_MODELS: dict[SubTaskKind, type[SubTaskTemplate]] = {
    SubTaskKind.TRANSCODE: TranscodeTemplate,
    SubTaskKind.ANIMATED_GRAPHICS: AnimatedGraphicsTemplate,
    SubTaskKind.SNAPSHOT: SnapshotTemplate,
    SubTaskKind.SAMPLE_SNAPSHOT: SampleSnapshotTemplate,
    SubTaskKind.IMAGE_SPRITE: ImageSpriteTemplate,
    SubTaskKind.ADAPTIVE: LadderTemplate,
    SubTaskKind.EDIT: TranscodeTemplate,
}


@dataclass(frozen=True, slots=True)
class WatermarkGeometry:
    """A watermark's offsets and size as numbers: ``width``/``height`` for an image,
    ``font_size`` for text (``None`` for the other type)."""

    x: Size
    y: Size
    width: Size | None
    height: Size | None
    font_size: Size | None

    @classmethod
    def of(cls, template: WatermarkTemplate) -> WatermarkGeometry:
        image, text = template.image_template, template.text_template
        return cls(
            x=Size.parse(template.x_pos, what="x_pos"),
            y=Size.parse(template.y_pos, what="y_pos"),
            width=Size.parse(image.width, what="width") if image else None,
            height=Size.parse(image.height, what="height") if image else None,
            font_size=Size.parse(text.font_size, what="font_size") if text else None,
        )


class ResolvedWatermark(Spec):
    """A watermark with its template looked up, and that template's sizes as numbers
    (``geometry``: read once, here; the JSON keeps the template's strings)."""

    definition: int
    template: WatermarkTemplate
    text_content: str | None = None
    start_time_offset: float | None = None
    end_time_offset: float | None = None
    _geometry: WatermarkGeometry = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._geometry = WatermarkGeometry.of(self.template)

    @property
    def geometry(self) -> WatermarkGeometry:
        return self._geometry


class SubTaskSpec(Spec):
    """One sub-task with everything needed to run it (JSON-safe, stored with the sub-task).

    ``input`` is the task input as given (echoed in results) without its graph members;
    ``template`` the resolved template's JSON; ``output_bucket``/``output_dir`` the resolved
    location. In the task graph the sub-task is the node ``node_id`` (``None``: unnamed) and
    reads the output of the sub-task ``upstream`` (its index; ``upstream_id`` its node id),
    or the task's source when ``upstream`` is ``None``; ``read`` says that other sub-tasks
    read its output; ``quality`` that its rendition is scored against the source.
    """

    index: int
    kind: SubTaskKind
    definition: int
    input: dict[str, Any]
    template: dict[str, Any]
    watermarks: list[ResolvedWatermark] = []
    output_bucket: str
    output_dir: str
    node_id: str | None = None
    upstream: int | None = None
    upstream_id: str | None = None
    read: bool = False
    quality: bool = False  # a video rendition to score against the source (issue 18)

    def parsed_input(self) -> TaskInput:
        return INPUT_MODELS[self.kind].model_validate(self.input, context=TRUSTED)

    def parsed_edit(self) -> EditMediaInput:
        """The input of an ``EditMedia`` sub-task (which ``parsed_input`` does not read)."""
        return EditMediaInput.model_validate(self.input, context=TRUSTED)

    def parsed_template(self) -> SubTaskTemplate:
        # TRUSTED: the template was accepted at submission, or is a preset (which may sit
        # outside the custom-template ranges).
        return TEMPLATE_MODELS[self.kind].model_validate(self.template, context=TRUSTED)
