"""RFC 6381 codec strings (``avc1.64001f``, ``mp4a.40.2``) read from the streams themselves,
and the comparison of a manifest's declared codecs with them. Pure functions on bytes and
names: no PyAV here (``segments`` hands over the codec facts it read).

For H.264 the profile and level come from the sequence parameter set: the ``avcC`` record of an
MP4 initialization section, or the in-band SPS of a transport stream (Annex B). HEVC is read
from its ``hvcC`` record. Other codecs are compared by family only (``vp09``, ``av01``).
"""

from __future__ import annotations

import re

_START_CODE = re.compile(b"\x00\x00\x01")
_AAC_OBJECT_TYPES = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29, "Main": 1, "SSR": 3, "LTP": 4}
_AUDIO = {"mp3": "mp4a.40.34", "ac3": "ac-3", "eac3": "ec-3", "opus": "Opus", "flac": "fLaC"}
_VIDEO_FAMILIES = {"vp9": "vp09", "av1": "av01", "vp8": "vp8"}
# Spellings of the same family: avc3/hev1 carry parameter sets in-band, as a TS does.
_ALIASES = {"avc3": "avc1", "hev1": "hvc1", "mp4a.6b": "mp4a.40.34"}


def avc_codec(data: bytes) -> str | None:
    """``avc1.PPCCLL`` from an ``avcC`` record or from Annex B bytes holding an SPS."""
    if len(data) >= 4 and data[0] == 1:  # AVCDecoderConfigurationRecord
        return f"avc1.{data[1:4].hex()}"
    for match in _START_CODE.finditer(data):
        nal = data[match.end() : match.end() + 4]
        if len(nal) == 4 and nal[0] & 0x1F == 7:  # sequence parameter set
            return f"avc1.{nal[1:4].hex()}"
    return None


def hevc_codec(data: bytes) -> str | None:
    """``hvc1.P.C.TL.B`` (ISO/IEC 14496-15 annex E) from an ``hvcC`` record."""
    if len(data) < 13 or data[0] != 1:
        return None
    space = "ABC"[(data[1] >> 6) - 1] if data[1] >> 6 else ""
    tier = "H" if data[1] & 0x20 else "L"
    profile = data[1] & 0x1F
    compat = int.from_bytes(data[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = data[6:12].rstrip(b"\x00")
    parts = [f"hvc1.{space}{profile}", f"{reversed_compat:X}", f"{tier}{data[12]}"]
    parts += [f"{byte:X}" for byte in constraints]
    return ".".join(parts)


def audio_codec(name: str, profile: str | None) -> str:
    """The codec string of an audio stream from FFmpeg's codec and profile names."""
    if name == "aac":
        return f"mp4a.40.{_AAC_OBJECT_TYPES.get(profile or 'LC', 2)}"
    return _AUDIO.get(name, name)


def video_codec(name: str, extradata: bytes, first_packet: bytes = b"") -> str:
    """The codec string of a video stream: from its extradata, else from its first packet
    (a TS carries the SPS in-band), else the FFmpeg codec name."""
    if name == "h264":
        return avc_codec(extradata) or avc_codec(first_packet) or "avc1"
    if name == "hevc":
        return hevc_codec(extradata) or "hvc1"
    return _VIDEO_FAMILIES.get(name, name)


def split_codecs(declared: str) -> list[str]:
    """``'avc1.64001f, mp4a.40.2'`` -> ``['avc1.64001f', 'mp4a.40.2']``."""
    return [part.strip() for part in declared.split(",") if part.strip()]


def _normal(codec: str) -> str:
    lowered = codec.lower()
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    family, dot, rest = lowered.partition(".")
    return _ALIASES.get(family, family) + dot + rest


def _family(codec: str) -> str:
    return _normal(codec).partition(".")[0]


def same_codec(declared: str, actual: str) -> bool:
    """Whether ``declared`` describes ``actual``: H.264 by profile and level (the constraint
    flags are not compared: encoders and packagers disagree on them and players ignore them),
    AAC and HEVC exactly, and other codecs by family."""
    want, have = _normal(declared), _normal(actual)
    if _family(want) != _family(have):
        return False
    if _family(have) == "avc1":
        want_hex, have_hex = want.partition(".")[2], have.partition(".")[2]
        if len(have_hex) != 6:
            return True  # the stream's SPS was not found: the family is all that is known
        return len(want_hex) == 6 and (want_hex[:2], want_hex[4:]) == (have_hex[:2], have_hex[4:])
    if _family(have) in ("mp4a", "hvc1") and "." in have:
        return want == have
    return True


def codec_mismatches(declared: list[str], actual: list[str]) -> list[str]:
    """Why ``declared`` (a manifest's list) does not describe ``actual`` (the streams'
    codec strings); empty when it does."""
    problems: list[str] = []
    unmatched = list(declared)
    for codec in actual:
        match = next((d for d in unmatched if same_codec(d, codec)), None)
        if match is not None:
            unmatched.remove(match)
            continue
        near = next((d for d in unmatched if _family(d) == _family(codec)), None)
        if near is not None:
            unmatched.remove(near)
            problems.append(f"declares {near} but the stream is {codec}")
        else:
            problems.append(f"does not declare {codec}")
    problems += [f"declares {codec} but no stream has it" for codec in unmatched]
    return problems
