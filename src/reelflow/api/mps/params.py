"""An action's parameters: lenient scalar parsing and field-naming errors.

Official examples send numbers as strings (``"Limit": "5"``), so integers and booleans
accept their string forms. Every error names the field by its path in the request
(``MediaProcessTask.TranscodeTaskSet.0.Definition``):

    absent (or null) required field     MissingParameter
    wrong type or value                 InvalidParameterValue.<Field>
    a field reelflow does not offer     UnsupportedOperation (null or empty values are fine)

Integers are 64-bit signed (``INT64_MIN..INT64_MAX``): a larger number in the JSON body
is read as an infinite float, so it is refused as a value of the field that holds it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from reelflow.api.mps.envelope import MpsError
from reelflow.specs.units import INT64_MAX, INT64_MIN
from reelflow.web.jsonbody import INT64_DIGITS, loads

MISSING = "MissingParameter"
INVALID_PARAMETER = "InvalidParameter"
UNSUPPORTED = "UnsupportedOperation"


def invalid(path: str, message: str) -> MpsError:
    """``InvalidParameterValue.<last field of path>``."""
    leaf = next((p for p in reversed(path.split(".")) if p and not p.isdigit()), "")
    code = f"InvalidParameterValue.{leaf}" if leaf else "InvalidParameterValue"
    return MpsError(code, f"{path}: {message}" if path else message)


def missing(path: str) -> MpsError:
    return MpsError(MISSING, f"{path} is required")


def unsupported(path: str, hint: str = "") -> MpsError:
    message = f"{path} is not supported by reelflow"
    return MpsError(
        UNSUPPORTED, f"{message}: {hint}" if hint else f"{message} (docs/mps-compat.md)"
    )


def join(prefix: str, name: str | int) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def is_empty(value: object) -> bool:
    """None, "", [] and {} (also an object whose every value is empty)."""
    if value is None or value in ("", []):
        return True
    if isinstance(value, dict):
        return all(is_empty(v) for v in value.values())
    return False


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body (an empty body is ``{}``); ``InvalidParameter``."""
    if not body.strip():
        return {}
    try:
        data = loads(body)
    except RecursionError:
        raise MpsError(INVALID_PARAMETER, "the body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise MpsError(INVALID_PARAMETER, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MpsError(INVALID_PARAMETER, "the body must be a JSON object")
    return data


class Params:
    """The parameters of one structure of a request, found at ``path`` (``""``: the top)."""

    def __init__(self, data: Mapping[str, Any], path: str = "") -> None:
        self.data = data
        self.path = path

    def where(self, name: str | int) -> str:
        return join(self.path, name)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def only(self, allowed: Iterable[str]) -> None:
        """``UnsupportedOperation`` for any other field with a non-empty value."""
        known = set(allowed)
        for name in sorted(self.data):
            if name not in known and not is_empty(self.data[name]):
                raise unsupported(self.where(name))

    def require(self, *names: str) -> None:
        for name in names:
            if not self.has(name):
                raise missing(self.where(name))

    def obj(self, name: str, *, required: bool = False) -> Params | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise missing(self.where(name))
            return None
        if not isinstance(value, dict):
            raise invalid(self.where(name), "must be an object")
        return Params(value, self.where(name))

    def text(
        self, name: str, default: str = "", *, required: bool = False, max_length: int = 0
    ) -> str:
        value = self.data.get(name)
        if value is None:
            if required:
                raise missing(self.where(name))
            return default
        if not isinstance(value, str):
            raise invalid(self.where(name), "must be a string")
        if max_length and len(value) > max_length:
            raise invalid(self.where(name), f"must be at most {max_length} characters")
        return value

    def integer(
        self,
        name: str,
        default: int = 0,
        *,
        required: bool = False,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        value = self.data.get(name)
        if value is None:
            if required:
                raise missing(self.where(name))
            return default
        number = to_int(value, self.where(name))
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"{'' if low is None else low}..{'' if high is None else high}"
            raise invalid(self.where(name), f"must be in {bounds}, got {number}")
        return number

    def flag(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        raise invalid(self.where(name), f"must be true or false, got {value!r}")

    def integers(self, name: str, *, max_items: int = 100) -> list[int] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise invalid(self.where(name), "must be an array of integers")
        if len(value) > max_items:
            raise invalid(self.where(name), f"at most {max_items} items")
        return [to_int(item, self.where(f"{name}.{i}")) for i, item in enumerate(value)]


def to_int(value: object, path: str) -> int:
    """An integer from a JSON number or its string form (``"5"``)."""
    if isinstance(value, bool):
        raise invalid(path, "must be an integer")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, float) and math.isinf(value):
        raise invalid(path, f"must be an integer in {INT64_MIN}..{INT64_MAX}")
    elif isinstance(value, str) and len(value.strip().lstrip("+-")) <= INT64_DIGITS:
        with contextlib.suppress(ValueError):  # not digits: reported below
            number = int(value.strip())
    if number is None:
        shown = value if not isinstance(value, str) or len(value) <= 40 else f"{value[:40]}..."
        raise invalid(path, f"must be an integer, got {shown!r}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise invalid(path, f"must be an integer in {INT64_MIN}..{INT64_MAX}")
    return number
