"""``/v1/templates``: presets (read-only) and the account's custom templates.

Each kind has its own operations (``POST /v1/templates/Transcode``, ...), so OpenAPI gives
each the request schema of its kind. Presets cannot be changed or deleted (400
``InvalidParameterValue.ModifyDefaultTemplate`` / ``DeleteDefaultTemplate``, the compatible
API's codes; the schema says so with the custom definitions' minimum); a template a
workflow uses cannot be deleted (409 ``FailedOperation.TemplateInUse``). An unknown kind is
400 ``InvalidParameterValue`` naming ``kind`` (routes left out of OpenAPI).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from reelflow.api.rest.deps import AccountDep, known_query_only
from reelflow.api.rest.schemas.common import MAX_ID, DefinitionList, error_responses
from reelflow.api.rest.schemas.templates import TemplateOut, TemplatePage
from reelflow.errors import SpecError
from reelflow.presets.catalog import CUSTOM_ID_START
from reelflow.specs.template_kinds import TEMPLATE_MODELS, Template
from reelflow.specs.templates import TemplateKind
from reelflow.web.errors import invalid_body
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import TemplatesDep

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/templates",
    tags=["templates"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)

AnyDefinition = Annotated[int, Path(ge=1, le=MAX_ID, description="A preset's or custom id.")]
# Presets are below CUSTOM_ID_START. Stated in the schema only: the service refuses a
# preset with the compatible API's own code, and a lower id that is no preset is a 404.
CustomDefinition = Annotated[
    int,
    Path(
        le=MAX_ID,
        description=f"A custom template's id (from {CUSTOM_ID_START}; presets are read-only).",
        json_schema_extra={"minimum": CUSTOM_ID_START},
    ),
]


@router.get("", response_model=TemplatePage, summary="List presets and custom templates")
def list_templates(
    templates: TemplatesDep,
    account: AccountDep,
    kind: TemplateKind | None = None,
    type: Literal["Preset", "Custom"] | None = None,
    definition: Annotated[
        DefinitionList | None, Query(max_length=100, description="Repeat for several.")
    ] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TemplatePage:
    records, total = templates.list(
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


def _signature(func: Callable[..., Any], **annotations: Any) -> None:
    """Give ``func`` the parameter types FastAPI reads, for one kind's body model (a type
    known only when the routes are made)."""
    params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        for name, annotation in annotations.items()
    ]
    func.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]


async def _strict(request: Request, model: type[Template]) -> Template:
    """The body as ``model``, validated again in strict mode: FastAPI's own validation (which
    gives OpenAPI the kind's schema) would take ``false`` for ``0`` or ``"5"`` for ``5``."""
    try:
        return model.model_validate_json(await request.body(), strict=True)
    except ValidationError as exc:
        raise invalid_body(exc) from None


def _add_kind(kind: TemplateKind) -> None:
    model = TEMPLATE_MODELS[kind]
    body_type = Annotated[
        model,  # type: ignore[valid-type]
        Body(description=f"A {kind.value} template, in snake_case or PascalCase."),
    ]
    name = kind.value

    async def create(
        request: Request, body: Template, templates: TemplatesDep, account: AccountDep
    ) -> TemplateOut:
        template = await _strict(request, model)
        create = templates.create
        return TemplateOut.of(await run_in_threadpool(create, account.id, kind, template))

    def read(definition: int, templates: TemplatesDep, account: AccountDep) -> TemplateOut:
        return TemplateOut.of(templates.get(account.id, kind, definition))

    async def replace(
        request: Request,
        definition: int,
        body: Template,
        templates: TemplatesDep,
        account: AccountDep,
    ) -> TemplateOut:
        template = await _strict(request, model)
        update = templates.update
        record = await run_in_threadpool(update, account.id, kind, definition, template)
        return TemplateOut.of(record)

    def delete(definition: int, templates: TemplatesDep, account: AccountDep) -> Response:
        templates.delete(account.id, kind, definition)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    common = {"templates": TemplatesDep, "account": AccountDep}
    _signature(create, request=Request, body=body_type, **common)
    _signature(read, definition=AnyDefinition, **common)
    _signature(replace, request=Request, definition=CustomDefinition, body=body_type, **common)
    _signature(delete, definition=CustomDefinition, **common)
    router.add_api_route(
        f"/{name}",
        create,
        methods=["POST"],
        name=f"create_{name}_template",
        response_model=TemplateOut,
        status_code=status.HTTP_201_CREATED,
        summary=f"Create a custom {name} template",
        responses=error_responses(413),
    )
    router.add_api_route(
        f"/{name}/{{definition}}",
        read,
        methods=["GET"],
        name=f"get_{name}_template",
        response_model=TemplateOut,
        summary=f"Read a {name} template",
        responses=error_responses(404),
    )
    router.add_api_route(
        f"/{name}/{{definition}}",
        replace,
        methods=["PUT"],
        name=f"replace_{name}_template",
        response_model=TemplateOut,
        summary=f"Replace a custom {name} template",
        responses=error_responses(404, 413),
    )
    router.add_api_route(
        f"/{name}/{{definition}}",
        delete,
        methods=["DELETE"],
        name=f"delete_{name}_template",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary=f"Delete a custom {name} template",
        responses=error_responses(404, 409),
    )


for _kind in TemplateKind:
    _add_kind(_kind)


def _unknown_kind(kind: str) -> SpecError:
    choices = ", ".join(k.value for k in TemplateKind)
    return SpecError(f"kind: unknown template kind {kind!r}; use one of {choices}", field="kind")


# After the kinds' routes, so that only an unknown kind gets here.
@router.post("/{kind}", include_in_schema=False)
def create_unknown_kind(kind: str, _account: AccountDep) -> None:
    raise _unknown_kind(kind)


@router.api_route("/{kind}/{definition}", methods=["GET", "PUT", "DELETE"], include_in_schema=False)
def unknown_kind(kind: str, _account: AccountDep) -> None:
    raise _unknown_kind(kind)
