"""Checking a DASH ladder: an MPD and the segments of every Representation, addressed by a
``SegmentTemplate`` (with a ``SegmentTimeline`` or ``$Number$`` and ``@duration``), a
``SegmentList`` or a ``SegmentBase`` (one file, its segments found in the ``sidx`` box of its
``indexRange``). Parsed with the ``mpegdash`` package from text only: its own loader would
open URLs outside the egress policy.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Any
from xml.dom import minidom
from xml.parsers.expat import ExpatError

from mpegdash.nodes import MPEGDASH
from mpegdash.utils import parse_child_nodes

from reelflow.errors import InvalidMedia, ReelflowError
from reelflow.media.streamcheck.codecs import codec_mismatches, split_codecs
from reelflow.media.streamcheck.fetch import ByteRange, StreamReader, display, resolve
from reelflow.media.streamcheck.ladder import (
    Rendition,
    SegmentLoader,
    SegmentRef,
    average_bitrate,
    buffered_bitrate,
    check_alignment,
    measure_rendition,
    peak_bitrate,
    summary,
)
from reelflow.media.streamcheck.model import DURATION_SLACK, Findings, StreamCheck

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>[\d.]+)D)?(?:T(?:(?P<h>[\d.]+)H)?(?:(?P<m>[\d.]+)M)?(?:(?P<s>[\d.]+)S)?)?$"
)
_IDENTIFIER = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth)(%0(\d+)d)?\$")


def iso_duration(text: str | None) -> float | None:
    """Seconds of an xs:duration such as ``PT1M7.5S``; ``None`` when absent or unreadable."""
    match = _ISO_DURATION.match((text or "").strip())
    if not text or match is None:
        return None
    d, h, m, s = (float(match.group(k) or 0) for k in "dhms")
    return d * 86400 + h * 3600 + m * 60 + s


def fill_template(
    template: str, representation: str, number: int, time: int, bandwidth: int
) -> str:
    """A ``SegmentTemplate`` ``@media``/``@initialization`` with its identifiers replaced."""
    values = {"RepresentationID": representation, "Number": number, "Time": time,
              "Bandwidth": bandwidth}  # fmt: skip

    def replace(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        if match.group(3) and isinstance(value, int):
            return f"{value:0{int(match.group(3))}d}"
        return str(value)

    return _IDENTIFIER.sub(replace, template).replace("$$", "$")


def timeline(
    entries: list[tuple[int | None, int, int | None]], end: int | None
) -> list[tuple[int, int]]:
    """(start, duration) of every segment of a ``SegmentTimeline`` given as (t, d, r) entries;
    ``r = -1`` repeats up to the next entry's ``t`` or ``end``."""
    segments: list[tuple[int, int]] = []
    now = 0
    for index, (t, d, r) in enumerate(entries):
        if t is not None:
            now = t
        repeat = r or 0
        if repeat < 0:
            following = entries[index + 1][0] if index + 1 < len(entries) else end
            repeat = math.ceil((following - now) / d) - 1 if following is not None and d else 0
        for _ in range(repeat + 1):
            segments.append((now, d))
            now += d
    return segments


def sidx_segments(data: bytes, index_end: int) -> list[tuple[ByteRange, float]]:
    """(byte range, seconds) of each subsegment a ``sidx`` box references; ``index_end``
    is the file offset just past the box (the anchor of its offsets)."""
    if len(data) < 32 or data[4:8] != b"sidx":
        raise InvalidMedia("the indexRange does not start with a sidx box")
    size = struct.unpack(">I", data[:4])[0]
    version = data[8]
    timescale = struct.unpack(">I", data[16:20])[0]
    if version == 0:
        first_offset = struct.unpack(">I", data[24:28])[0]
        at = 28
    else:
        first_offset = struct.unpack(">Q", data[28:36])[0]
        at = 36
    count = struct.unpack(">H", data[at + 2 : at + 4])[0]
    at += 4
    offset = index_end - len(data) + size + first_offset
    found: list[tuple[ByteRange, float]] = []
    for _ in range(count):
        kind_size, duration = struct.unpack(">II", data[at : at + 8])
        at += 12
        length = kind_size & 0x7FFFFFFF
        found.append((ByteRange(offset, length), duration / timescale if timescale else 0.0))
        offset += length
    return found


def parse(text: str, location: str) -> MPEGDASH:
    """The MPD in ``text``; InvalidMedia when it is not one."""
    try:
        document = minidom.parseString(text)
    except ExpatError as exc:
        raise InvalidMedia(f"{display(location)} is not well-formed XML: {exc}") from exc
    nodes = parse_child_nodes(document, "MPD", MPEGDASH)
    if not nodes:
        raise InvalidMedia(f"{display(location)} has no MPD element")
    mpd: MPEGDASH = nodes[0]
    return mpd


def _first(*candidates: Any) -> Any:
    return next((c for c in candidates if c is not None), None)


def _merged(attribute: str, *levels: Any) -> Any:
    """The element ``attribute`` (``segment_templates``...) of the innermost level having
    it, with each unset attribute taken from the outer levels (DASH inheritance)."""
    found = [getattr(level, attribute)[0] for level in levels if getattr(level, attribute, None)]
    if not found:
        return None
    inner = found[0]
    for outer in found[1:]:
        for key, value in vars(outer).items():
            if getattr(inner, key, None) is None:
                setattr(inner, key, value)
    return inner


def _base(location: str, *levels: Any) -> str:
    """The base URL after the ``BaseURL`` elements of the MPD, Period, AdaptationSet and
    Representation, outermost first."""
    base = location
    for level in levels:
        urls = getattr(level, "base_urls", None)
        if urls and urls[0].base_url_value:
            base = resolve(base, urls[0].base_url_value.strip())
    return base


@dataclass(frozen=True)
class _Context:
    location: str
    period_seconds: float | None


class DashChecker:
    """One check of one MPD (see :func:`check_dash`)."""

    def __init__(self, reader: StreamReader, location: str, mpd: MPEGDASH) -> None:
        self.reader = reader
        self.location = location
        self.mpd = mpd
        self.loader = SegmentLoader(reader)
        self.findings = Findings()
        self.min_buffer = iso_duration(mpd.min_buffer_time) or 0.0

    def segments(
        self, rep: Any, aset: Any, period: Any, base: str, seconds: float | None
    ) -> list[SegmentRef]:
        bandwidth = int(rep.bandwidth or 0)
        template = _merged("segment_templates", rep, aset, period)
        if template is not None:
            return self._template(template, str(rep.id), bandwidth, base, seconds)
        seglist = _merged("segment_lists", rep, aset, period)
        if seglist is not None:
            return self._list(seglist, base, seconds)
        segbase = _merged("segment_bases", rep, aset, period)
        if segbase is not None:
            return self._base(segbase, base)
        # A Representation that is one whole file.
        name = base.rsplit("/", 1)[-1]
        return [SegmentRef(base, f"segment 0 ({name})", seconds or 0.0)]

    def _template(
        self, template: Any, rep_id: str, bandwidth: int, base: str, seconds: float | None
    ) -> list[SegmentRef]:
        scale = int(template.timescale or 1)
        number = int(_first(template.start_number, 1))
        init = None
        if template.initialization:
            init = resolve(base, fill_template(template.initialization, rep_id, 0, 0, bandwidth))
        if template.segment_timelines:
            offset = int(template.presentation_time_offset or 0)
            end = offset + round(seconds * scale) if seconds is not None else None
            entries = [(s.t, s.d, s.r) for s in template.segment_timelines[0].Ss or []]
            times = timeline(entries, end)
        elif template.duration and seconds is not None:
            count = math.ceil(seconds * scale / int(template.duration) - 1e-9)
            step, end = int(template.duration), round(seconds * scale)
            # The last segment ends with the period, not a whole @duration later.
            times = [(i * step, min(step, end - i * step)) for i in range(count)]
        else:
            raise InvalidMedia(f"representation {rep_id}: a SegmentTemplate without a timeline "
                               "or a duration the checker can count")  # fmt: skip
        refs = []
        for index, (time, duration) in enumerate(times):
            media = fill_template(template.media or "", rep_id, number + index, time, bandwidth)
            refs.append(SegmentRef(resolve(base, media), f"segment {number + index} ({media})",
                                   duration / scale, init=init))  # fmt: skip
        return refs

    def _list(self, seglist: Any, base: str, seconds: float | None) -> list[SegmentRef]:
        scale = int(seglist.timescale or 1)
        duration = int(seglist.duration or 0) / scale
        init, init_range = self._initialization(seglist, base)
        refs = []
        urls = seglist.segment_urls or []
        for index, url in enumerate(urls):
            if index == len(urls) - 1 and seconds is not None:  # ends with the period
                duration = max(0.0, min(duration, seconds - index * duration))
            location = resolve(base, url.media) if url.media else base
            byterange = ByteRange.from_dash(url.media_range) if url.media_range else None
            name = (url.media or base.rsplit("/", 1)[-1]) + (f" [{byterange}]" if byterange else "")
            refs.append(SegmentRef(location, f"segment {index} ({name})", duration, byterange,
                                   init, init_range))  # fmt: skip
        return refs

    def _base(self, segbase: Any, base: str) -> list[SegmentRef]:
        init, init_range = self._initialization(segbase, base)
        if not segbase.index_range:
            raise InvalidMedia(f"{display(base)}: a SegmentBase without an indexRange")
        index = ByteRange.from_dash(segbase.index_range)
        found = sidx_segments(self.reader.read(base, index), index.end)
        name = base.rsplit("/", 1)[-1]
        return [
            SegmentRef(
                base, f"segment {i} ({name} [{byterange}])", seconds, byterange, init, init_range
            )
            for i, (byterange, seconds) in enumerate(found)
        ]

    @staticmethod
    def _initialization(element: Any, base: str) -> tuple[str | None, ByteRange | None]:
        urls = element.initializations or []
        if not urls:
            return None, None
        source = resolve(base, urls[0].source_url) if urls[0].source_url else base
        return source, ByteRange.from_dash(urls[0].range) if urls[0].range else None


def check_dash(reader: StreamReader, location: str, text: str) -> StreamCheck:
    """Check the MPD ``text`` read from ``location`` and every Representation it names.

    Raises:
        InvalidMedia: ``text`` is not an MPD.
    """
    mpd = parse(text, location)
    checker = DashChecker(reader, location, mpd)
    findings = checker.findings
    total = iso_duration(mpd.media_presentation_duration)
    summaries = []
    periods = mpd.periods or []
    for period_index, period in enumerate(periods):
        start = iso_duration(period.start) or 0.0
        seconds = iso_duration(period.duration) or (total - start if total is not None else None)
        for aset in period.adaptation_sets or []:
            renditions = []
            for rep in aset.representations or []:
                name = f"representation {rep.id}"
                if len(periods) > 1:
                    name = f"period {period.id or period_index} {name}"
                base = _base(location, mpd, period, aset, rep)
                try:
                    refs = checker.segments(rep, aset, period, base, seconds)
                except ReelflowError as exc:
                    findings.fail("segment.readable", name, exc.message)
                    continue
                rendition = Rendition(name, refs)
                measure_rendition(checker.loader, rendition, findings)
                if not rendition.measured:
                    continue
                renditions.append(rendition)
                summaries.append(_representation_rules(checker, rep, aset, rendition))
            check_alignment(renditions, findings)
    return StreamCheck(display(location), "dash", findings.ordered(), tuple(summaries))


def _representation_rules(checker: DashChecker, rep: Any, aset: Any, rendition: Rendition) -> Any:
    findings: Findings = checker.findings
    name = rendition.name
    segments = rendition.sizes_and_durations()
    peak, average = peak_bitrate(segments), average_bitrate(segments)
    needed = buffered_bitrate(segments, checker.min_buffer)
    declared = int(rep.bandwidth) if rep.bandwidth else None
    findings.check(
        "dash.bandwidth",
        name,
        declared is not None and declared >= needed,
        f"@bandwidth is {declared or 'missing'}; the segments need {needed} bit/s with "
        f"minBufferTime {checker.min_buffer:g} s (measured peak {peak}, average {average})",
    )
    codecs = _first(rep.codecs, aset.codecs)
    if not codecs:
        findings.fail(
            "dash.codecs", name, f"no @codecs (the streams are {','.join(rendition.codecs)})"
        )
    else:
        problems = codec_mismatches(split_codecs(codecs), list(rendition.codecs))
        findings.check("dash.codecs", name, not problems, "; ".join(problems))
    first = rendition.measured[0]
    if first.video_codec:
        size = (first.width, first.height)
        width, height = _first(rep.width, aset.width), _first(rep.height, aset.height)
        findings.check(
            "dash.resolution",
            name,
            (width, height) == size,
            f"@width x @height is {width or '?'}x{height or '?'}, the frames are "
            f"{size[0]}x{size[1]}",
        )
    longest = max((ref.duration for ref in rendition.segments), default=0.0)
    for index, facts in enumerate(rendition.facts):
        if facts is not None and facts.duration > longest + DURATION_SLACK:
            findings.fail(
                "dash.segment-duration",
                rendition.where(index),
                f"lasts {facts.duration:.3f} s, more than the longest declared segment "
                f"{longest:g} s + {DURATION_SLACK} s",
            )
    findings.passed("dash.segment-duration", name)
    return summary(rendition, peak=peak, average=average, declared_bandwidth=declared)
