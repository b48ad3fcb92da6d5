"""RFC 6381 codec strings (``avc1.64001f``, ``hvc1.1.6.L93.B0``, ``mp4a.40.2``) from the
encoded stream's own parameter sets: the decoder configuration record of an MP4 sample
entry (``avcC``/``hvcC``), or the SPS in an Annex-B stream (MPEG-TS). Pure functions on
bytes."""

from __future__ import annotations

from collections.abc import Iterator

_AAC_PROFILES = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29, "Main": 1, "LTP": 4}


def _annexb_nals(data: bytes) -> Iterator[bytes]:
    """NAL units of an Annex-B byte stream (start codes 00 00 01 / 00 00 00 01)."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for k, start in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        yield data[start:end].rstrip(b"\x00")


def _length_prefixed_nals(data: bytes, size: int = 4) -> Iterator[bytes]:
    pos = 0
    while pos + size <= len(data):
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
        if length <= 0 or pos + length > len(data):
            return
        yield data[pos : pos + length]
        pos += length


def _nals(data: bytes) -> Iterator[bytes]:
    if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        yield from _annexb_nals(data)
    else:
        yield from _length_prefixed_nals(data)


def _unescape(nal: bytes) -> bytes:
    """Drop emulation-prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def avc_codec(extradata: bytes, first_packet: bytes = b"") -> str | None:
    """``avc1.PPCCLL`` from an ``avcC`` record, or the SPS found in Annex-B data."""
    if len(extradata) >= 4 and extradata[0] == 1:
        return f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"
    for data in (extradata, first_packet):
        for nal in _nals(data):
            if nal and nal[0] & 0x1F == 7 and len(nal) >= 4:
                return f"avc1.{nal[1]:02x}{nal[2]:02x}{nal[3]:02x}"
    return None


def _hevc_from_ptl(ptl: bytes) -> str:
    """The string from the 12 general profile_tier_level bytes (hvcC bytes 1..12)."""
    space = "" if ptl[0] >> 6 == 0 else "ABC"[(ptl[0] >> 6) - 1]
    tier = "H" if ptl[0] & 0x20 else "L"
    profile = ptl[0] & 0x1F
    compat = int.from_bytes(ptl[1:5], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(ptl[5:11])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    level = ptl[11]
    parts = [f"hvc1.{space}{profile}", f"{reversed_compat:x}", f"{tier}{level}"]
    parts += [f"{b:X}" for b in constraints]
    return ".".join(parts)


def hevc_codec(extradata: bytes, first_packet: bytes = b"") -> str | None:
    """``hvc1.…`` from an ``hvcC`` record, or the SPS found in Annex-B data."""
    if len(extradata) >= 13 and extradata[0] == 1:
        return _hevc_from_ptl(extradata[1:13])
    for data in (extradata, first_packet):
        for nal in _nals(data):
            if len(nal) >= 15 and (nal[0] >> 1) & 0x3F == 33:  # SPS
                body = _unescape(nal[2:])
                return _hevc_from_ptl(body[1:13])
    return None


def aac_codec(extradata: bytes, profile: str | None) -> str:
    """``mp4a.40.N`` with N the audio object type of the AudioSpecificConfig (or of
    the decoder's profile name when the stream carries no config, as ADTS in TS)."""
    if len(extradata) >= 2:
        aot = extradata[0] >> 3
        if aot == 31:
            aot = 32 + (((extradata[0] & 0x07) << 3) | (extradata[1] >> 5))
        if aot:
            return f"mp4a.40.{aot}"
    return f"mp4a.40.{_AAC_PROFILES.get(profile or 'LC', 2)}"
