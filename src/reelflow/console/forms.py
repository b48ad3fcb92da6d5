"""HTML form bodies (``application/x-www-form-urlencoded``), parsed without a multipart
library: the console's forms never carry files (uploads stream as raw PUT bodies), and the
body is already bounded by the app's JSON body limit (1 MiB by default)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from reelflow.errors import SpecError

MAX_FIELDS = 2000
URLENCODED = "application/x-www-form-urlencoded"


class FormData:
    """Submitted fields in order; a name may repeat (checkboxes)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        """The first value of ``name``, stripped; ``default`` if absent."""
        for key, value in self._pairs:
            if key == name:
                return value.strip()
        return default

    def raw(self, name: str) -> str:
        """The first value of ``name`` as sent (for JSON editors: whitespace kept)."""
        for key, value in self._pairs:
            if key == name:
                return value
        return ""

    def getlist(self, name: str) -> list[str]:
        return [value.strip() for key, value in self._pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self._pairs)

    def checked(self, name: str) -> bool:
        """A checkbox: present with any value but ``""``, ``0``, ``off`` or ``false``."""
        return self.get(name, "").lower() not in ("", "0", "off", "false")


async def read_form(request: Request) -> FormData:
    """The request's urlencoded form; ``SpecError`` for another body type."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != URLENCODED:
        raise SpecError(
            f"a console form must be sent as {URLENCODED}, not {media_type or 'nothing'}",
            code="InvalidParameter.FormEncoding",
        )
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise SpecError(f"the form is malformed: {exc}", code="InvalidParameter.Form") from None
    return FormData(pairs)
