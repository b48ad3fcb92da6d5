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


def _template(rep: ET.Element) -> ET.Element:
    template = rep.find(_tag("SegmentTemplate"))
    if template is None:
        raise ValueError(f"Representation {rep.get('id')} has no SegmentTemplate")
    return template


def _timeline(rep: ET.Element) -> list[tuple[int, int]]:
    """``(t, d)`` of every segment of ``rep``'s ``SegmentTimeline`` (``r`` expanded)."""
    timeline = _template(rep).find(_tag("SegmentTimeline"))
    if timeline is None:
        raise ValueError(f"Representation {rep.get('id')} has no SegmentTimeline")
    segments: list[tuple[int, int]] = []
    for s in timeline.iter(_tag("S")):
        d = int(s.get("d", "0"))
        t = int(s.get("t", segments[-1][0] + segments[-1][1] if segments else 0))
        for k in range(int(s.get("r", "0")) + 1):
            segments.append((t + k * d, d))
    return segments


def _write_timeline(rep: ET.Element, segments: list[tuple[int, int]]) -> None:
    """Replace ``rep``'s ``S`` elements, as the dash muxer writes them: ``t`` on the first and
    after a gap, runs of one duration as ``r``."""
    timeline = _template(rep).find(_tag("SegmentTimeline"))
    assert timeline is not None
    for s in list(timeline):
        timeline.remove(s)
    runs: list[list[int]] = []  # [t, d, r, explicit t]
    end = None
    for t, d in segments:
        last = runs[-1] if runs else None
        if last is not None and t == end and d == last[1]:
            last[2] += 1
        else:
            runs.append([t, d, 0, int(t != end)])
        end = t + d
    for t, d, r, explicit in runs:
        attrs = {"t": str(t)} if explicit else {}
        attrs["d"] = str(d)
        if r:
            attrs["r"] = str(r)
        ET.SubElement(timeline, _tag("S"), attrs)


def merge_mpd(chunks: list[Path], audio: Path | None, out: Path) -> None:
    """The MPD of a ladder encoded in chunks (``reelflow.media.ladder.chunked``): ``audio``'s
    (the run over the whole timeline: its ``mediaPresentationDuration``, audio adaptation
    set, the MPD's attributes; without audio the first chunk's, its duration set to the
    merged timeline's) with its video adaptation set replaced by the first chunk's, whose
    every Representation lists the segments of all ``chunks`` in order: their
    ``SegmentTimeline`` entries as the dash muxer wrote them (integers in one timescale, so
    nothing is rounded). Written raw: :func:`rewrite_mpd` then corrects it.

    Raises:
        ValueError: a chunk lacks a Representation or has another timescale, or its
            timeline does not start where the previous chunk's ended.
    """
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    if not chunks:
        raise ValueError("a merged MPD needs chunks")
    trees = [ET.parse(path) for path in chunks]
    base = ET.parse(audio if audio is not None else chunks[0])
    period = base.getroot().find(_tag("Period"))
    first_period = trees[0].getroot().find(_tag("Period"))
    assert period is not None and first_period is not None
    video = next(
        a for a in first_period.iter(_tag("AdaptationSet")) if a.get("contentType") == "video"
    )
    for k, child in enumerate(list(period)):
        if child.tag == _tag("AdaptationSet") and child.get("contentType") == "video":
            period.remove(child)
            period.insert(k, video)
    longest = 0.0
    for rep in video.iter(_tag("Representation")):
        segments: list[tuple[int, int]] = []
        for tree in trees:
            found = [r for r in tree.getroot().iter(_tag("Representation"))]
            theirs = next((r for r in found if r.get("id") == rep.get("id")), None)
            if theirs is None:
                raise ValueError(f"a chunk's MPD has no Representation {rep.get('id')}")
            if _template(theirs).get("timescale") != _template(rep).get("timescale"):
                raise ValueError(f"Representation {rep.get('id')}: the chunks' timescales differ")
            more = _timeline(theirs)
            if segments and more and more[0][0] != segments[-1][0] + segments[-1][1]:
                raise ValueError(
                    f"Representation {rep.get('id')}: a chunk starts at {more[0][0]}, "
                    f"not where the previous one ended ({segments[-1][0] + segments[-1][1]})"
                )
            segments += more
        _write_timeline(rep, segments)
        scale = int(_template(rep).get("timescale", "1"))
        longest = max(longest, (segments[-1][0] + segments[-1][1] - segments[0][0]) / scale)
    if audio is None:  # the first chunk's MPD: its duration is the whole timeline's
        base.getroot().set("mediaPresentationDuration", _iso_seconds(longest))
    base.write(out, encoding="utf-8", xml_declaration=True)
