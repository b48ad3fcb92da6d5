"""The MPD FFmpeg's dash muxer wrote, corrected from measured facts (ElementTree).

ElementTree rather than the ``mpegdash`` package: mpegdash models only the elements it knows
and drops the rest on writing (FFmpeg's ``ServiceDescription``, the ``xsi:schemaLocation``),
so it cannot round-trip what a newer FFmpeg adds; ElementTree keeps every element and
attribute and changes only what is set here. Tests read the result with ``mpegdash``.

Per ``Representation``: ``bandwidth`` = the measured peak bit rate, or more if the
segments need more to arrive in time under the MPD's ``minBufferTime`` (the rate DASH's
``@bandwidth`` is defined by), ``codecs`` from the
encoded stream, the segment names (``SegmentTemplate`` ``initialization``/``media``, or the
single file's ``BaseURL``) renamed to the published ones, numbered from 0.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from reelflow.media.ladder.rates import buffered_bitrate

NS = "urn:mpeg:dash:schema:mpd:2011"
_PREFIXES = {
    "": NS,
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xlink": "http://www.w3.org/1999/xlink",
}


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def template_escape(name: str) -> str:
    """A literal file name inside a DASH URL template (``$`` doubles)."""
    return name.replace("$", "$$")


@dataclass(frozen=True)
class RepresentationFacts:
    """What to write on Representation ``id`` (the sub-stream number)."""

    id: str
    peak: int  # measured peak bit rate
    codecs: str
    sizes: tuple[int, ...]  # of the segments, for the @minBufferTime model
    durations: tuple[float, ...]
    init: str = ""  # published init segment name (segment files)
    media: str = ""  # published media template with $Number$ (segment files)
    single_file: str = ""  # published file name (byte-range package)


def _iso_seconds(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def rewrite_mpd(raw: Path, facts: list[RepresentationFacts], max_segment: float) -> str:
    """The corrected MPD text of ``raw``.

    Raises:
        ValueError: the MPD lacks a Representation named in ``facts``.
    """
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    tree = ET.parse(raw)
    root = tree.getroot()
    representations = {rep.get("id"): rep for rep in root.iter(_tag("Representation"))}
    min_buffer = _parse_seconds(root.get("minBufferTime") or "")
    for fact in facts:
        rep = representations.get(fact.id)
        if rep is None:
            raise ValueError(f"the MPD has no Representation {fact.id}")
        needed = buffered_bitrate(fact.sizes, fact.durations, min_buffer)
        rep.set("bandwidth", str(max(fact.peak, needed)))
        rep.set("codecs", fact.codecs)
        template = rep.find(_tag("SegmentTemplate"))
        if template is not None and fact.media:
            template.set("initialization", fact.init)
            template.set("media", fact.media)
            template.set("startNumber", "0")
        base_url = rep.find(_tag("BaseURL"))
        if base_url is not None and fact.single_file:
            base_url.text = fact.single_file
    declared = root.get("maxSegmentDuration")
    if declared is None or _parse_seconds(declared) < max_segment:
        root.set("maxSegmentDuration", _iso_seconds(max_segment))
    ET.indent(tree, space="\t")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _parse_seconds(value: str) -> float:
    """Seconds of a simple ``PT…S`` / ``PT…M…S`` duration (FFmpeg writes no others)."""
    text = value.removeprefix("PT")
    total = 0.0
    number = ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
            continue
        factor = {"H": 3600.0, "M": 60.0, "S": 1.0}.get(char)
        if factor is None or not number:
            return 0.0
        total += float(number) * factor
        number = ""
    return total
