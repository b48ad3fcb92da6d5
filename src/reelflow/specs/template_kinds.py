"""Every template kind's model, and ``Template``: any of them.

Apart from ``reelflow.specs.templates`` because the ladder template
(``reelflow.specs.ladders``) is built from that module's video and audio parameters: the union
of both sits above them.
"""

from __future__ import annotations

from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.templates import (
    AnimatedGraphicsTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TemplateKind,
    TranscodeTemplate,
    WatermarkTemplate,
)

Template = (
    TranscodeTemplate
    | WatermarkTemplate
    | SnapshotTemplate
    | SampleSnapshotTemplate
    | ImageSpriteTemplate
    | AnimatedGraphicsTemplate
    | LadderTemplate
)

TEMPLATE_MODELS: dict[TemplateKind, type[Template]] = {
    TemplateKind.TRANSCODE: TranscodeTemplate,
    TemplateKind.WATERMARK: WatermarkTemplate,
    TemplateKind.SNAPSHOT: SnapshotTemplate,
    TemplateKind.SAMPLE_SNAPSHOT: SampleSnapshotTemplate,
    TemplateKind.IMAGE_SPRITE: ImageSpriteTemplate,
    TemplateKind.ANIMATED_GRAPHICS: AnimatedGraphicsTemplate,
    TemplateKind.ADAPTIVE: LadderTemplate,
}
