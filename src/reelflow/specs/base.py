"""The base of every spec model.

Python attributes are snake_case; JSON accepts both snake_case and the compatible API's
PascalCase (``VideoTemplate.Codec``), so the action API parses requests straight into these
models. snake_case is the documented name (JSON schemas list it first, so OpenAPI shows it,
and error fields name it for a missing field); PascalCase is what :meth:`Spec.to_mps`
writes. Unknown fields are rejected: a misspelt option must never be silently ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, AliasGenerator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_pascal

from reelflow.errors import SpecError


def _either_case(name: str) -> AliasChoices:
    return AliasChoices(name, to_pascal(name))


class Spec(BaseModel):
    """Immutable spec model: snake_case or PascalCase in, PascalCase out by alias."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(
            validation_alias=_either_case, serialization_alias=to_pascal
        ),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-safe dict with snake_case keys (how reelflow stores specs)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_mps(self) -> dict[str, Any]:
        """The compatible API's PascalCase shape."""
        return self.model_dump(mode="json", by_alias=True)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``[{"field": "video_template.bitrate", "message": ...}]``."""
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"])
        # pydantic prefixes our own validators' messages with "Value error, ".
        out.append({"field": loc, "message": err["msg"].removeprefix("Value error, ")})
    return out


def spec_error(exc: ValidationError, what: str) -> SpecError:
    """Translate a pydantic ValidationError into a SpecError naming every bad field."""
    errors = field_errors(exc)
    detail = "; ".join(f"{e['field'] or what}: {e['message']}" for e in errors)
    first = errors[0]["field"] if errors else ""
    return SpecError(f"invalid {what}: {detail}", field=first)
