"""``Range: bytes=...`` parsing."""

from __future__ import annotations

import pytest

from reelflow.web.errors import HttpError
from reelflow.web.ranges import ByteRange, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("", 10, None),
        ("bytes=0-0", 10, ByteRange(0, 0, 10)),
        ("bytes=2-5", 10, ByteRange(2, 5, 10)),
        ("BYTES = 2 - 5", 10, ByteRange(2, 5, 10)),
        ("bytes=7-", 10, ByteRange(7, 9, 10)),
        ("bytes=7-100", 10, ByteRange(7, 9, 10)),
        ("bytes=-3", 10, ByteRange(7, 9, 10)),
        ("bytes=-30", 10, ByteRange(0, 9, 10)),
        ("bytes=5-2", 10, None),
        ("bytes=-", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("lines=0-1", 10, None),
    ],
)
def test_parse(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=-5", 0)]
)
def test_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(HttpError) as caught:
        parse_range(header, size)
    assert caught.value.status == 416
    assert caught.value.headers == {"Content-Range": f"bytes */{size}"}


def test_content_range() -> None:
    span = ByteRange(7, 9, 10)
    assert (span.length, span.content_range) == (3, "bytes 7-9/10")
