"""Parsing a request structure into one of reelflow's spec models, with the compatible API's
error codes.

The spec models (``reelflow.specs``) read PascalCase directly and forbid unknown fields. A
field they do not know is a feature reelflow does not offer: ``UnsupportedOperation``
naming it, unless its value is empty (``null``, ``""``, ``[]``, ``{}``), which is dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.params import invalid, is_empty, join, missing, unsupported

M = TypeVar("M", bound=BaseModel)

_MAX_PASSES = 8


def loc_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        path = join(path, part)
    return path


def validate(model: type[M], data: Mapping[str, Any], path: str, *, context: Any = None) -> M:
    """``model`` from ``data`` (found at ``path`` in the request), or an ``MpsError``."""
    work: dict[str, Any] = copy.deepcopy(dict(data))
    for _ in range(_MAX_PASSES):
        try:
            return model.model_validate(work, context=context)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            empty = [
                e["loc"] for e in errors if e["type"] == "extra_forbidden" and is_empty(e["input"])
            ]
            if not empty:
                raise to_mps_error(errors, path) from None
            for loc in empty:
                _drop(work, loc)
    raise MpsError("InvalidParameter", f"{path or 'the request'} could not be parsed")


def to_mps_error(errors: Sequence[Mapping[str, Any]], path: str) -> MpsError:
    """The first error that matters: unsupported field, then missing field, then value."""
    for kind, make in (("extra_forbidden", unsupported), ("missing", missing)):
        for err in errors:
            if err["type"] == kind:
                return make(loc_path(path, err["loc"]))
    first = errors[0]
    where = loc_path(path, first["loc"])
    details = "; ".join(f"{loc_path(path, e['loc']) or 'value'}: {_message(e)}" for e in errors[:5])
    error = invalid(where, _message(first))
    return MpsError(error.code, details)


def _message(err: Mapping[str, Any]) -> str:
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


def _drop(data: dict[str, Any], loc: Sequence[int | str]) -> None:
    target: Any = data
    for part in loc[:-1]:
        target = target[part]
    if isinstance(target, dict):
        target.pop(loc[-1], None)
