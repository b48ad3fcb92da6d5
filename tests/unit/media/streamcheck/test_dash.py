from __future__ import annotations

import struct

import pytest

from reelflow.errors import InvalidMedia
from reelflow.media.streamcheck.dash import (
    fill_template,
    iso_duration,
    parse,
    sidx_segments,
    timeline,
)
from reelflow.media.streamcheck.fetch import ByteRange


def test_iso_duration() -> None:
    assert iso_duration("PT7.0S") == 7.0
    assert iso_duration("PT1H2M3.5S") == 3723.5
    assert iso_duration("P1DT1S") == 86401
    assert iso_duration(None) is None
    assert iso_duration("7 s") is None


def test_fill_template() -> None:
    media = "chunk-$RepresentationID$-$Number%05d$-$Time$-$Bandwidth$$$.m4s"
    assert fill_template(media, "v0", 3, 25600, 300000) == "chunk-v0-00003-25600-300000$.m4s"


def test_timeline_repeats_and_open_ended_repeat() -> None:
    assert timeline([(0, 25600, 2), (None, 12800, None)], None) == [
        (0, 25600), (25600, 25600), (51200, 25600), (76800, 12800)
    ]  # fmt: skip
    # r=-1: as many as fit before the end of the period.
    assert timeline([(100, 10, -1)], 135) == [(100, 10), (110, 10), (120, 10), (130, 10)]


def _sidx(references: list[tuple[int, int]], first_offset: int = 0) -> bytes:
    body = struct.pack(">BxxxIIII", 0, 1, 1000, 0, first_offset)
    body += struct.pack(">HH", 0, len(references))
    for size, duration in references:
        body += struct.pack(">III", size, duration, 0x90000000)
    return struct.pack(">I4s", 8 + len(body), b"sidx") + body


def test_sidx_segments_are_anchored_after_the_box() -> None:
    box = _sidx([(500, 2000), (400, 1000)])
    # The box ends at offset 900 of the file: the first subsegment starts there.
    assert sidx_segments(box, 900) == [
        (ByteRange(900, 500), 2.0),
        (ByteRange(1400, 400), 1.0),
    ]
    with pytest.raises(InvalidMedia):
        sidx_segments(b"\x00" * 40, 40)


def test_parse_refuses_what_is_not_an_mpd() -> None:
    with pytest.raises(InvalidMedia, match="not well-formed"):
        parse("<MPD", "x.mpd")
    with pytest.raises(InvalidMedia, match="no MPD element"):
        parse("<root/>", "x.mpd")
