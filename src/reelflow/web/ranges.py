"""HTTP ``Range: bytes=...`` for object downloads (RFC 9110 section 14).

One range per request: ``a-b``, ``a-`` and the suffix ``-n``. A header that is not a single
valid byte range (another unit, several ranges, ``b < a``, garbage) is ignored and the whole
object is sent, as the RFC allows; a valid range that starts past the end is unsatisfiable
(416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reelflow.web.errors import HttpError

_BYTES_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    """Inclusive ``start``..``end`` of an object of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range ``header`` asks of an object of ``size`` bytes; None = the whole object.

    Raises ``HttpError`` 416 (with ``Content-Range: bytes */size``) when unsatisfiable.
    """
    if not header:
        return None
    match = _BYTES_RANGE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(header, size)
    return ByteRange(start, min(end, size - 1), size)


def _unsatisfiable(header: str, size: int) -> HttpError:
    return HttpError(
        416,
        "InvalidParameterValue.Range",
        f"range {header.strip()!r} is outside the object ({size} bytes)",
        headers={"Content-Range": f"bytes */{size}"},
    )
