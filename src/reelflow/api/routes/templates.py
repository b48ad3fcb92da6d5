"""``/v1/templates``: presets (read-only) and the account's custom templates.

Presets cannot be changed or deleted (400 ``InvalidParameterValue.ModifyDefaultTemplate`` /
``DeleteDefaultTemplate``, the compatible API's codes); a template a workflow uses cannot be
deleted (409 ``FailedOperation.TemplateInUse``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import ValidationError

from reelflow.api.deps import AccountDep, RuntimeDep
from reelflow.api.errors import invalid_body
from reelflow.api.schemas.common import error_responses
from reelflow.api.schemas.templates import TemplateOut, TemplatePage
from reelflow.specs.templates import TEMPLATE_MODELS, Template, TemplateKind

router = APIRouter(
    prefix="/v1/templates", tags=["templates"], responses=error_responses(400, 401, 404)
)

TemplateBody = Annotated[
    dict[str, Any],
    Body(
        description="The template, in snake_case or PascalCase; its shape is the kind's "
        "(e.g. Transcode: container, video_template, audio_template).",
        examples=[
            {
                "name": "720p",
                "container": "mp4",
                "video_template": {"codec": "libx264", "bitrate": 1800, "height": 720},
                "audio_template": {"codec": "libfdk_aac", "bitrate": 128, "sample_rate": 44100},
            }
        ],
    ),
]


def _parse(kind: TemplateKind, body: dict[str, Any]) -> Template:
    try:
        return TEMPLATE_MODELS[kind].model_validate(body)
    except ValidationError as exc:
        raise invalid_body(exc) from None


@router.get("", response_model=TemplatePage, summary="List presets and custom templates")
def list_templates(
    runtime: RuntimeDep,
    account: AccountDep,
    kind: TemplateKind | None = None,
    type: Literal["Preset", "Custom"] | None = None,
    definition: Annotated[list[int] | None, Query(description="Repeat for several.")] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TemplatePage:
    records, total = runtime.templates_service.list(
        account.id,
        kind=kind,
        type=type,
        definitions=definition,
        name=name,
        offset=offset,
        limit=limit,
    )
    return TemplatePage(
        templates=[TemplateOut.of(r) for r in records], total=total, offset=offset, limit=limit
    )


@router.post(
    "/{kind}",
    response_model=TemplateOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a custom template",
)
def create_template(
    kind: TemplateKind, body: TemplateBody, runtime: RuntimeDep, account: AccountDep
) -> TemplateOut:
    record = runtime.templates_service.create(account.id, kind, _parse(kind, body))
    return TemplateOut.of(record)


@router.get("/{kind}/{definition}", response_model=TemplateOut, summary="Read a template")
def get_template(
    kind: TemplateKind, definition: int, runtime: RuntimeDep, account: AccountDep
) -> TemplateOut:
    return TemplateOut.of(runtime.templates_service.get(account.id, kind, definition))


@router.put(
    "/{kind}/{definition}",
    response_model=TemplateOut,
    summary="Replace a custom template",
)
def replace_template(
    kind: TemplateKind,
    definition: int,
    body: TemplateBody,
    runtime: RuntimeDep,
    account: AccountDep,
) -> TemplateOut:
    template = _parse(kind, body)
    return TemplateOut.of(runtime.templates_service.update(account.id, kind, definition, template))


@router.delete(
    "/{kind}/{definition}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a custom template",
    responses=error_responses(409),
)
def delete_template(
    kind: TemplateKind, definition: int, runtime: RuntimeDep, account: AccountDep
) -> Response:
    runtime.templates_service.delete(account.id, kind, definition)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
