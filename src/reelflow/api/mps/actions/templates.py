"""Template actions: ``Create/Modify/Delete{Kind}Template`` and ``Describe{Kind}Templates``
for Transcode, Watermark, SnapshotByTimeOffset, SampleSnapshot, ImageSprite,
AnimatedGraphics and AdaptiveDynamicStreaming (ladders: their fields are read by
``reelflow.compat.ladders``, the one place that knows ``AdaptiveDynamicStreamingTemplate``).

``Modify`` changes only the fields it is given (nested ``VideoTemplate``/``AudioTemplate``/
``ImageTemplate``/``TextTemplate`` too) and validates the result as a whole. Presets are
listed by ``Describe`` (unless ``Type`` is ``Custom``) and can be neither modified
(``InvalidParameterValue.ModifyDefaultTemplate``) nor deleted
(``InvalidParameterValue.DeleteDefaultTemplate``); an unknown definition is
``ResourceNotFound.TemplateNotExist``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.envelope import MpsError, from_reelflow
from reelflow.api.mps.mapping import transcode_streams
from reelflow.api.mps.params import Params, invalid, unsupported
from reelflow.api.mps.required import (
    ADAPTIVE_TEMPLATE,
    ANIMATED_GRAPHICS_TEMPLATE,
    IMAGE_SPRITE_TEMPLATE,
    SAMPLE_SNAPSHOT_TEMPLATE,
    SNAPSHOT_TEMPLATE,
    TRANSCODE_TEMPLATE,
    WATERMARK_TEMPLATE,
    Struct,
    check,
)
from reelflow.api.mps.template_views import template_detail
from reelflow.api.mps.validation import validate
from reelflow.catalog.templates import TemplateRecord, TemplateType
from reelflow.compat.ladders import ladder_template, modified_ladder
from reelflow.errors import SpecError
from reelflow.presets.catalog import is_preset
from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.template_kinds import TEMPLATE_MODELS, Template
from reelflow.specs.templates import TemplateKind
from reelflow.specs.units import AUDIO_ONLY_CONTAINERS

_PAGE = 100


@dataclass(frozen=True)
class Kind:
    """One template family as the actions name it."""

    name: str
    kind: TemplateKind
    schema: Struct

    @property
    def set_name(self) -> str:
        return f"{self.name}TemplateSet"


KINDS = (
    Kind("Transcode", TemplateKind.TRANSCODE, TRANSCODE_TEMPLATE),
    Kind("Watermark", TemplateKind.WATERMARK, WATERMARK_TEMPLATE),
    Kind("SnapshotByTimeOffset", TemplateKind.SNAPSHOT, SNAPSHOT_TEMPLATE),
    Kind("SampleSnapshot", TemplateKind.SAMPLE_SNAPSHOT, SAMPLE_SNAPSHOT_TEMPLATE),
    Kind("ImageSprite", TemplateKind.IMAGE_SPRITE, IMAGE_SPRITE_TEMPLATE),
    Kind("AnimatedGraphics", TemplateKind.ANIMATED_GRAPHICS, ANIMATED_GRAPHICS_TEMPLATE),
    Kind("AdaptiveDynamicStreaming", TemplateKind.ADAPTIVE, ADAPTIVE_TEMPLATE),
)


def _check_watermark(p: Params) -> None:
    kind = p.text("Type")
    if kind == "svg":
        raise unsupported("Type svg", "use an image or text watermark")
    member = {"image": "ImageTemplate", "text": "TextTemplate"}.get(kind)
    if member is not None:
        p.require(member)


def _definition(p: Params) -> int:
    return p.integer("Definition", required=True, low=1)


def _ladder(read: Callable[[], LadderTemplate]) -> LadderTemplate:
    """A ladder read by ``reelflow.compat.ladders``; its errors already carry the API's code."""
    try:
        return read()
    except SpecError as exc:
        raise from_reelflow(exc) from None


def create(kind: Kind, ctx: ActionContext, p: Params) -> dict[str, Any]:
    check(kind.schema, p.data, "")
    if kind.kind is TemplateKind.TRANSCODE:
        transcode_streams(p)
    if kind.kind is TemplateKind.WATERMARK:
        _check_watermark(p)
    if kind.kind is TemplateKind.ADAPTIVE:
        template: Template = _ladder(lambda: ladder_template(p.data))
    else:
        template = validate(TEMPLATE_MODELS[kind.kind], p.data, "")
    record = ctx.services.templates.create(ctx.account.id, kind.kind, template)
    answer: dict[str, Any] = {"Definition": record.definition}
    if kind.kind is TemplateKind.WATERMARK:
        answer["ImageUrl"] = ""  # reelflow keeps the image in the template, at no URL
    return answer


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied; nested objects merge, ``null`` changes nothing."""
    merged = dict(base)
    for key, value in changes.items():
        if value is None:
            continue
        old = merged.get(key)
        merged[key] = (
            merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def modify(kind: Kind, ctx: ActionContext, p: Params) -> dict[str, Any]:
    definition = _definition(p)
    if is_preset(kind.kind, definition):
        raise MpsError(
            "InvalidParameterValue.ModifyDefaultTemplate",
            f"{kind.name} template {definition} is a system preset: it cannot be modified",
        )
    service = ctx.services.templates
    record = service.get(ctx.account.id, kind.kind, definition)
    changes = {k: v for k, v in p.data.items() if k != "Definition"}
    if isinstance(record.template, LadderTemplate):
        ladder = record.template
        service.update(
            ctx.account.id, kind.kind, definition, _ladder(lambda: modified_ladder(ladder, changes))
        )
        return {}
    base = record.template.to_mps()
    if kind.kind is TemplateKind.TRANSCODE and "RemoveVideo" not in changes:
        # An audio-only container implied RemoveVideo; a new video container does not.
        new = str(changes.get("Container", base["Container"])).lower()
        if base["Container"] in AUDIO_ONLY_CONTAINERS and new not in AUDIO_ONLY_CONTAINERS:
            base["RemoveVideo"] = False
    template = validate(TEMPLATE_MODELS[kind.kind], merge(base, changes), "")
    service.update(ctx.account.id, kind.kind, definition, template)
    return {"ImageUrl": ""} if kind.kind is TemplateKind.WATERMARK else {}


def delete(kind: Kind, ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("Definition",))
    ctx.services.templates.delete(ctx.account.id, kind.kind, _definition(p))
    return {}


def _filter(
    kind: Kind, p: Params
) -> tuple[TemplateType | None, Callable[[TemplateRecord], bool] | None]:
    """The ``Type`` filter the service applies, and a predicate it cannot apply."""
    if kind.kind is TemplateKind.WATERMARK:
        p.only(("Definitions", "Type", "Name", "Offset", "Limit"))
        wanted = p.text("Type")
        if wanted not in ("", "image", "text", "svg"):
            raise invalid("Type", f"must be image, text or svg, got {wanted!r}")
        if not wanted:
            return None, None
        return "Custom", lambda r: getattr(r.template, "type", "") == wanted
    extra = {
        TemplateKind.TRANSCODE: ("ContainerType", "TranscodeType"),
        TemplateKind.ADAPTIVE: ("PureAudio",),
    }.get(kind.kind, ())
    p.only(("Definitions", "Type", "Name", "Offset", "Limit", *extra))
    origin = p.text("Type")
    if origin not in ("", "Preset", "Custom"):
        raise invalid("Type", f"must be Preset or Custom, got {origin!r}")
    chosen: TemplateType | None = "Preset" if origin == "Preset" else ("Custom" if origin else None)
    if kind.kind is TemplateKind.ADAPTIVE and p.raw("PureAudio") is not None:
        pure = p.integer("PureAudio", low=0, high=1) == 1
        return chosen, lambda r: getattr(r.template, "pure_audio", False) == pure
    if kind.kind is not TemplateKind.TRANSCODE:
        return chosen, None
    container = p.text("ContainerType")
    if container not in ("", "Video", "PureAudio"):
        raise invalid("ContainerType", f"must be Video or PureAudio, got {container!r}")
    common = p.text("TranscodeType") in ("", "Common")  # reelflow has no TEHD/Enhance kinds
    if not container and common:
        return chosen, None

    def keep(record: TemplateRecord) -> bool:
        audio_only = bool(getattr(record.template, "remove_video", False))
        return common and (not container or audio_only == (container == "PureAudio"))

    return chosen, keep


def describe(kind: Kind, ctx: ActionContext, p: Params) -> dict[str, Any]:
    origin, keep = _filter(kind, p)
    service = ctx.services.templates
    query: dict[str, Any] = {
        "kind": kind.kind,
        "type": origin,
        "definitions": p.integers("Definitions"),
        "name": p.text("Name") or None,
    }
    offset = p.integer("Offset", 0, low=0)
    limit = p.integer("Limit", 10, low=1, high=100)
    if keep is None:
        records, total = service.list(ctx.account.id, offset=offset, limit=limit, **query)
    else:
        matched = []
        start, total = 0, 1
        while start < total:
            page, total = service.list(ctx.account.id, offset=start, limit=_PAGE, **query)
            matched += [r for r in page if keep(r)]
            start += _PAGE
        records, total = matched[offset : offset + limit], len(matched)
    return {"TotalCount": total, kind.set_name: [template_detail(r) for r in records]}


def _bind(action: Callable[[Kind, ActionContext, Params], dict[str, Any]], kind: Kind) -> Handler:
    def handler(ctx: ActionContext, p: Params) -> dict[str, Any]:
        return action(kind, ctx, p)

    return handler


ACTIONS: dict[str, Handler] = {}
for _kind in KINDS:
    ACTIONS[f"Create{_kind.name}Template"] = _bind(create, _kind)
    ACTIONS[f"Modify{_kind.name}Template"] = _bind(modify, _kind)
    ACTIONS[f"Delete{_kind.name}Template"] = _bind(delete, _kind)
    ACTIONS[f"Describe{_kind.name}Templates"] = _bind(describe, _kind)
