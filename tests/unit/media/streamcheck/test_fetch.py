from __future__ import annotations

import httpx
import pytest

from reelflow.errors import LimitExceeded, ObjectNotFound
from reelflow.media.streamcheck.fetch import ByteRange, StreamReader, display, resolve
from reelflow.media.streamcheck.hls import parse, segment_refs
from reelflow.media.streamcheck.segments import ts_tables

BODY = bytes(range(256)) * 4


def _server(ranges: bool, seen: list[str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("range", ""))
        if request.url.path.endswith("missing.ts"):
            return httpx.Response(404)
        header = request.headers.get("range")
        if ranges and header:
            first, last = (int(x) for x in header.removeprefix("bytes=").split("-"))
            return httpx.Response(206, content=BODY[first : last + 1])
        return httpx.Response(200, content=BODY)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("ranges", [True, False])
def test_remote_byte_range(ranges: bool) -> None:
    seen: list[str] = []
    with StreamReader(transport=_server(ranges, seen)) as reader:
        assert reader.read("http://cdn.test/a.ts", ByteRange(10, 5)) == BODY[10:15]
        with pytest.raises(ObjectNotFound):
            reader.read("http://cdn.test/missing.ts")
    assert seen[0] == "bytes=10-14"


def test_limit() -> None:
    reader = StreamReader(transport=_server(False, []), max_bytes=100)
    with reader, pytest.raises(LimitExceeded):
        reader.read("http://cdn.test/a.ts")


def test_resolve_and_display() -> None:
    assert resolve("http://cdn.test/x/master.m3u8?sig=1", "v0.m3u8") == "http://cdn.test/x/v0.m3u8"
    assert resolve("/data/ladder/master.m3u8", "v0/seg.ts") == "/data/ladder/v0/seg.ts"
    assert resolve("/data/master.m3u8", "https://cdn.test/s.ts") == "https://cdn.test/s.ts"
    assert display("https://cdn.test/m.m3u8?sig=secret") == "https://cdn.test/m.m3u8"
    assert ByteRange.from_dash("826-89162") == ByteRange(826, 88337)


def test_byte_ranges_continue_the_previous_one() -> None:
    text = "\n".join([
        "#EXTM3U", "#EXT-X-TARGETDURATION:2", '#EXT-X-MAP:URI="init.mp4",BYTERANGE="700@0"',
        "#EXTINF:2.0,", "#EXT-X-BYTERANGE:1000@700", "all.mp4",
        "#EXTINF:2.0,", "#EXT-X-BYTERANGE:500", "all.mp4", "#EXT-X-ENDLIST",
    ])  # fmt: skip
    refs = segment_refs(parse(text, "/l/v0.m3u8"), "/l/v0.m3u8")
    assert [r.byterange for r in refs] == [ByteRange(700, 1000), ByteRange(1700, 500)]
    assert refs[1].init == "/l/init.mp4" and refs[1].init_range == ByteRange(0, 700)
    assert refs[1].label == "segment 1 (all.mp4 [500@1700])"


def _ts_packet(pid: int, payload: bytes) -> bytes:
    header = bytes([0x47, 0x40 | (pid >> 8), pid & 0xFF, 0x10])
    return (header + payload).ljust(188, b"\xff")


def test_ts_tables_keep_pat_and_pmt() -> None:
    # PAT: pointer 0, table 0, section length 13, program 1 -> PMT PID 0x1000.
    pat = _ts_packet(0, bytes([0, 0, 0xB0, 13, 0, 1, 0xC1, 0, 0, 0, 1, 0xF0, 0x00]) + b"crc!")
    sdt = _ts_packet(0x11, b"sdt")
    pmt = _ts_packet(0x1000, b"pmt")
    video = _ts_packet(0x100, b"video")
    assert ts_tables(sdt + pat + pmt + video) == pat + pmt
