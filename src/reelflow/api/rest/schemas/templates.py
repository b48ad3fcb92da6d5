"""``/v1/templates``: responses. A request body is the template itself, validated by the
model of the kind in the path (``reelflow.specs.templates.TEMPLATE_MODELS``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from reelflow.api.rest.schemas.common import ResponseModel
from reelflow.catalog.templates import TemplateRecord
from reelflow.specs.templates import TemplateKind


class TemplateOut(ResponseModel):
    """A template: preset or custom, its `definition`, kind, name and the template's fields
    (snake_case)."""

    definition: int
    kind: TemplateKind
    type: Literal["Preset", "Custom"]
    name: str
    comment: str
    template: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: TemplateRecord) -> TemplateOut:
        return cls(
            definition=record.definition,
            kind=record.kind,
            type=record.type,
            name=record.name,
            comment=record.comment,
            template=record.template.to_json(),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class TemplatePage(ResponseModel):
    """Presets first, then custom templates; ``total`` counts every match."""

    templates: list[TemplateOut]
    total: int
    offset: int
    limit: int
