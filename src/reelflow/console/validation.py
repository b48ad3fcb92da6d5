"""Field messages for the console's forms, from the specs' own validation.

A form is turned into a spec dict and validated by the spec model (and then by the service,
which raises ``SpecError`` naming a field). Each error's dotted field path (the REST API's
spelling, ``media_process_task.transcode_task_set[0].definition``) is mapped to the form
control it belongs to, so the message shows next to that control.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import ValidationError

from reelflow.errors import SpecError
from reelflow.web.errors import field_name

FieldMap = Sequence[tuple[str, str]]
"""(spec path prefix without list positions, form control) pairs; the first matching prefix
wins: ``media_process_task.transcode_task_set[2].definition`` matches
``media_process_task.transcode_task_set``. A prefix that has positions itself
(``media_process_task.transcode_task_set[2].input``) matches that item only."""

GENERAL = "_form"
"""Where a message goes that belongs to no control."""

T = TypeVar("T")

_PREFIX = re.compile(r"^(Value error|Assertion failed), ")
_POSITION = re.compile(r"\[\d+\]")


class FormErrors(Exception):
    """A form's problems: control name -> message (several joined by a space)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def control_for(path: str, mapping: FieldMap) -> str:
    bare = _POSITION.sub("", path)
    for prefix, control in mapping:
        where = path if "[" in prefix else bare
        if where == prefix or where.startswith((prefix + ".", prefix + "[")):
            return control
    return GENERAL


def clean_message(message: str) -> str:
    """A pydantic message without its ``Value error, `` preamble."""
    return _PREFIX.sub("", message)


def _add(found: dict[str, str], control: str, message: str) -> None:
    if message and message not in found.get(control, ""):
        found[control] = f"{found[control]} {message}" if control in found else message


def from_validation(
    exc: ValidationError, mapping: FieldMap, prefix: tuple[str | int, ...] = ()
) -> FormErrors:
    found: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        path = field_name((*prefix, *err["loc"]))
        message = clean_message(str(err["msg"]))
        last = path.rsplit(".", 1)[-1]
        if last and message.startswith(last + ": "):
            message = message[len(last) + 2 :]  # the field is named by where it is shown
        if err["type"] == "missing":
            message = "this is required"
        _add(found, control_for(path, mapping), message)
    return FormErrors(found)


def from_spec_error(exc: SpecError, mapping: FieldMap) -> FormErrors:
    message = exc.message
    if exc.field and message.startswith(exc.field + ": "):
        message = message[len(exc.field) + 2 :]
    return FormErrors({control_for(exc.field, mapping): message})


def validated(build: Callable[[], T], mapping: FieldMap) -> T:
    """``build()``; its ``ValidationError`` or ``SpecError`` as ``FormErrors``."""
    try:
        return build()
    except ValidationError as exc:
        raise from_validation(exc, mapping) from None
    except SpecError as exc:
        raise from_spec_error(exc, mapping) from None
