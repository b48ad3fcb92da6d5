"""Templates in the compatible API's detail shapes (``TranscodeTemplate``,
``WatermarkTemplate``, ``SnapshotByTimeOffsetTemplate``, ...).

Differences that clients see: ``TranscodeTemplate.Definition`` is a **string** (as the
vendor documents it; every other kind's is an integer); codecs are reelflow's short names
(``h264``, ``aac``) where the vendor's examples show ``libx264``/``libfdk_aac``; a
watermark's image is kept in the template, so ``ImageTemplate.ImageUrl`` is empty.
reelflow's own template fields (``VideoTemplate.Preset``, ``VideoTemplate.AllowUpscale``)
are left out (``reelflow.compat.trim``).
"""

from __future__ import annotations

from typing import Any

from reelflow.catalog.templates import TemplateRecord
from reelflow.compat import trim
from reelflow.compat.ladders import ladder_detail
from reelflow.compat.render import iso
from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.templates import TranscodeTemplate, WatermarkTemplate


def template_detail(record: TemplateRecord) -> dict[str, Any]:
    if isinstance(record.template, LadderTemplate):
        return ladder_detail(
            record.template,
            definition=record.definition,
            origin=record.type,
            created=record.created_at,
            updated=record.updated_at,
        )
    body = trim.video_holder(record.template.to_mps())
    times = {"CreateTime": iso(record.created_at), "UpdateTime": iso(record.updated_at)}
    template = record.template
    if isinstance(template, TranscodeTemplate):
        return {
            "Definition": str(record.definition),
            "Type": record.type,
            "ContainerType": "PureAudio" if template.remove_video else "Video",
            "AliasName": "",
            **body,
            "RemoveVideo": int(template.remove_video),
            "RemoveAudio": int(template.remove_audio),
            "TEHDConfig": None,
            "EnhanceConfig": None,
            **times,
        }
    if isinstance(template, WatermarkTemplate):
        image = template.image_template
        return {
            "Definition": record.definition,
            **body,
            "ImageTemplate": None
            if image is None
            else {
                "ImageUrl": "",
                "Width": image.width,
                "Height": image.height,
                "RepeatType": image.repeat_type,
            },
            "SvgTemplate": None,
            **times,
        }
    return {"Definition": record.definition, "Type": record.type, **body, **times}
