"""Templates: presets and custom ones by kind; create, edit and delete custom ones.

Transcode templates are edited with a form, the other kinds as JSON; both are validated by
the template models, with each message next to what it is about.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from reelflow.catalog.templates import TemplateRecord
from reelflow.console import template_form as tf
from reelflow.console.catalog import templates_of
from reelflow.console.deps import FormDep, SignedIn, UserDep, console_state
from reelflow.console.forms import FormData
from reelflow.console.routing import ConsoleRoute
from reelflow.console.validation import GENERAL, FormErrors
from reelflow.errors import LimitExceeded, ReelflowError, SpecError, StateError
from reelflow.specs.template_kinds import Template
from reelflow.specs.templates import TemplateKind, TranscodeTemplate
from reelflow.web.services import TemplatesDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

KINDS = tuple(TemplateKind)


def _list_url(kind: TemplateKind) -> str:
    return f"/console/templates?kind={kind.value}"


def _editor(
    request: Request,
    user: SignedIn,
    kind: TemplateKind,
    *,
    record: TemplateRecord | None = None,
    transcode: tf.TranscodeForm | None = None,
    body: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    context: dict[str, Any] = {
        "kind": kind,
        "record": record,
        "form": transcode,
        "body": body,
        "errors": errors or {},
        "containers": tf.CONTAINER_CHOICES,
        "video_codecs": tf.VIDEO_CODECS,
        "audio_codecs": tf.AUDIO_CODECS,
        "sample_rates": tf.SAMPLE_RATE_CHOICES,
        "encoder_presets": tf.ENCODER_PRESETS,
    }
    pages = console_state(request).pages
    status = 400 if errors else 200
    return pages.render(request, "template_form.html", context, user=user, status=status)


def _submitted(kind: TemplateKind, form: FormData) -> tuple[Template, tf.TranscodeForm | None, str]:
    """The template of the form, the transcode form (or None) and the JSON text."""
    if kind is TemplateKind.TRANSCODE:
        transcode = tf.TranscodeForm.from_form(form)
        try:
            return transcode.to_template(), transcode, ""
        except FormErrors as exc:
            raise _Invalid(exc.fields, transcode, "") from None
    body = form.raw("body")
    try:
        return tf.parse_json(kind, body), None, body
    except FormErrors as exc:
        raise _Invalid(exc.fields, None, body) from None


class _Invalid(Exception):
    def __init__(
        self, fields: dict[str, str], transcode: tf.TranscodeForm | None, body: str
    ) -> None:
        super().__init__("invalid template")
        self.fields = fields
        self.transcode = transcode
        self.body = body


def _service_errors(kind: TemplateKind, exc: ReelflowError) -> dict[str, str]:
    field = exc.field if isinstance(exc, SpecError) else ""
    target = "body" if kind is not TemplateKind.TRANSCODE else GENERAL
    if kind is TemplateKind.TRANSCODE and field == "name":
        target = "name"
    return {target: exc.message}


@router.get("/templates")
def list_templates(
    request: Request,
    templates: TemplatesDep,
    user: UserDep,
    kind: Annotated[TemplateKind, Query()] = TemplateKind.TRANSCODE,
) -> Response:
    records = templates_of(templates, user.account.id, kind)
    context = {
        "kind": kind,
        "kinds": KINDS,
        "presets": [r for r in records if r.type == "Preset"],
        "custom": [r for r in records if r.type == "Custom"],
    }
    return console_state(request).pages.render(request, "templates.html", context, user=user)


@router.get("/templates/new")
def new_template(
    request: Request, user: UserDep, kind: Annotated[TemplateKind, Query()] = TemplateKind.TRANSCODE
) -> Response:
    if kind is TemplateKind.TRANSCODE:
        return _editor(request, user, kind, transcode=tf.TranscodeForm())
    return _editor(request, user, kind, body=tf.starter_json(kind))


@router.post("/templates/new")
def create_template(
    request: Request,
    templates: TemplatesDep,
    user: UserDep,
    form: FormDep,
    kind: Annotated[TemplateKind, Query()] = TemplateKind.TRANSCODE,
) -> Response:
    try:
        template, transcode, body = _submitted(kind, form)
    except _Invalid as exc:
        return _editor(
            request, user, kind, transcode=exc.transcode, body=exc.body, errors=exc.fields
        )
    try:
        record = templates.create(user.account.id, kind, template)
    except (SpecError, LimitExceeded) as exc:
        errors = _service_errors(kind, exc)
        return _editor(request, user, kind, transcode=transcode, body=body, errors=errors)
    notice = ("ok", f"Template {record.definition} ({record.name or 'unnamed'}) created.")
    return console_state(request).pages.redirect(request, _list_url(kind), user=user, notice=notice)


@router.get("/templates/{kind}/{definition}")
def show_template(
    request: Request, kind: TemplateKind, definition: int, templates: TemplatesDep, user: UserDep
) -> Response:
    record = templates.get(user.account.id, kind, definition)
    template = record.template
    if record.type == "Custom" and isinstance(template, TranscodeTemplate):
        form = tf.TranscodeForm.from_template(template)
        return _editor(request, user, kind, record=record, transcode=form)
    return _editor(request, user, kind, record=record, body=tf.template_json(template))


@router.post("/templates/{kind}/{definition}")
def save_template(
    request: Request,
    kind: TemplateKind,
    definition: int,
    templates: TemplatesDep,
    user: UserDep,
    form: FormDep,
) -> Response:
    record = templates.get(user.account.id, kind, definition)
    try:
        template, transcode, body = _submitted(kind, form)
    except _Invalid as exc:
        return _editor(
            request, user, kind, record=record, transcode=exc.transcode, body=exc.body,
            errors=exc.fields,
        )  # fmt: skip
    try:
        record = templates.update(user.account.id, kind, definition, template)
    except SpecError as exc:
        errors = _service_errors(kind, exc)
        return _editor(
            request, user, kind, record=record, transcode=transcode, body=body, errors=errors
        )
    notice = ("ok", f"Template {record.definition} ({record.name or 'unnamed'}) saved.")
    return console_state(request).pages.redirect(request, _list_url(kind), user=user, notice=notice)


@router.post("/templates/{kind}/{definition}/delete")
def delete_template(
    request: Request,
    kind: TemplateKind,
    definition: int,
    templates: TemplatesDep,
    user: UserDep,
    form: FormDep,
) -> Response:
    notice = ("ok", f"Template {definition} deleted.")
    try:
        templates.delete(user.account.id, kind, definition)
    except StateError as exc:  # a workflow uses it
        notice = ("error", exc.message)
    return console_state(request).pages.redirect(request, _list_url(kind), user=user, notice=notice)
