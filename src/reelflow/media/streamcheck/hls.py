"""Checking an HLS ladder: the master playlist, every media playlist and I-frame playlist it
names, and their segments (TS, fMP4, byte ranges). Parsed with the ``m3u8`` package, which is
only given text: every playlist and segment is read by :class:`StreamReader`.

A media playlist given alone is checked with the media-playlist and segment rules only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import m3u8

from reelflow.errors import InvalidMedia, ReelflowError
from reelflow.media.streamcheck.codecs import codec_mismatches, split_codecs
from reelflow.media.streamcheck.fetch import ByteRange, StreamReader, display, resolve
from reelflow.media.streamcheck.ladder import (
    Rendition,
    SegmentLoader,
    SegmentRef,
    average_bitrate,
    check_alignment,
    measure_rendition,
    peak_bitrate,
    summary,
)
from reelflow.media.streamcheck.model import (
    AVERAGE_TOLERANCE,
    DURATION_SLACK,
    Findings,
    RenditionSummary,
    StreamCheck,
)
from reelflow.media.streamcheck.segments import measure

_FRAME_RATE_TOLERANCE = 0.01


@dataclass
class MediaPlaylist:
    """A media playlist, read and measured: its rendition and its header facts."""

    location: str
    rendition: Rendition
    target: float | None
    independent: bool

    def bitrates(self) -> tuple[int, int]:
        segments = self.rendition.sizes_and_durations()
        return peak_bitrate(segments, self.target), average_bitrate(segments)


def parse(text: str, location: str) -> m3u8.M3U8:
    """The playlist ``text`` read from ``location``; InvalidMedia when it is not one."""
    if not text.lstrip("\ufeff").startswith("#EXTM3U"):
        raise InvalidMedia(f"{display(location)} is not an HLS playlist (no #EXTM3U)")
    try:
        return m3u8.loads(text)
    except (ValueError, KeyError, IndexError) as exc:
        raise InvalidMedia(f"{display(location)} cannot be parsed: {exc}") from exc


def _byterange(text: str | None, previous_end: int) -> ByteRange | None:
    if not text:
        return None
    length, _, offset = text.partition("@")
    return ByteRange(int(offset) if offset else previous_end, int(length))


def segment_refs(playlist: m3u8.M3U8, location: str, *, iframes: bool = False) -> list[SegmentRef]:
    """The segments of a media playlist, with byte ranges resolved (a range without an
    offset continues the previous range of the same URI)."""
    refs: list[SegmentRef] = []
    ends: dict[str, int] = {}
    for index, segment in enumerate(playlist.segments):
        uri = resolve(location, segment.uri)
        byterange = _byterange(segment.byterange, ends.get(uri, 0))
        if byterange is not None:
            ends[uri] = byterange.end
        init = init_range = None
        if segment.init_section is not None:
            init = resolve(location, segment.init_section.uri)
            init_range = _byterange(segment.init_section.byterange, 0)
        name = segment.uri + (f" [{byterange}]" if byterange else "")
        refs.append(
            SegmentRef(
                location=uri,
                label=f"segment {index} ({name})",
                duration=float(segment.duration or 0.0),
                byterange=byterange,
                init=init,
                init_range=init_range,
                prepend_tables=iframes and init is None,
            )
        )
    return refs


class HlsChecker:
    """One check of one ladder (see :func:`check_hls`)."""

    def __init__(self, reader: StreamReader, location: str) -> None:
        self.reader = reader
        self.location = location
        self.loader = SegmentLoader(reader)
        self.findings = Findings()
        self.media: dict[str, MediaPlaylist | None] = {}

    def load_media(self, uri: str, master_independent: bool) -> MediaPlaylist | None:
        """Read, parse and measure a media playlist (once); apply the media-playlist rules."""
        location = resolve(self.location, uri)
        if location in self.media:
            return self.media[location]
        try:
            playlist = parse(self.reader.read(location).decode("utf-8", "replace"), location)
        except ReelflowError as exc:
            self.findings.fail("segment.readable", uri, f"the media playlist: {exc.message}")
            self.media[location] = None
            return None
        media = self.media_playlist(uri, location, playlist, master_independent)
        self.media[location] = media
        return media

    def media_playlist(
        self, name: str, location: str, playlist: m3u8.M3U8, master_independent: bool
    ) -> MediaPlaylist:
        findings = self.findings
        rendition = Rendition(name, segment_refs(playlist, location))
        measure_rendition(self.loader, rendition, findings)
        target = playlist.target_duration
        independent = bool(playlist.is_independent_segments) or master_independent
        findings.check(
            "hls.media.independent-segments",
            name,
            independent,
            "no EXT-X-INDEPENDENT-SEGMENTS (in the media playlist or the master)",
        )
        if target is None:
            findings.fail("hls.media.target-duration", name, "no EXT-X-TARGETDURATION")
        else:
            for index, ref in enumerate(rendition.segments):
                if _round(ref.duration) > target:
                    findings.fail(
                        "hls.media.target-duration",
                        rendition.where(index),
                        f"EXTINF {ref.duration:g} s rounds to {_round(ref.duration)} s, "
                        f"above EXT-X-TARGETDURATION {target}",
                    )
            findings.passed("hls.media.target-duration", name)
            for index, facts in enumerate(rendition.facts):
                if facts is not None and facts.duration > target + DURATION_SLACK:
                    findings.fail(
                        "hls.media.segment-duration",
                        rendition.where(index),
                        f"lasts {facts.duration:.3f} s, more than the target {target} s "
                        f"+ {DURATION_SLACK} s",
                    )
            findings.passed("hls.media.segment-duration", name)
        seconds = float(target) if target is not None else None
        return MediaPlaylist(location, rendition, seconds, independent)

    def iframe_playlist(self, uri: str) -> None:
        """``hls.iframe.keyframe`` on every entry of an I-frame playlist."""
        location = resolve(self.location, uri)
        try:
            playlist = parse(self.reader.read(location).decode("utf-8", "replace"), location)
        except ReelflowError as exc:
            self.findings.fail("segment.readable", uri, f"the I-frame playlist: {exc.message}")
            return
        rendition = Rendition(uri, segment_refs(playlist, location, iframes=True))
        for index, ref in enumerate(rendition.segments):
            try:
                facts = measure(*self.loader.load(ref))
            except ReelflowError as exc:
                self.findings.fail("segment.readable", rendition.where(index), exc.message)
                continue
            if not facts.starts_with_keyframe:
                self.findings.fail(
                    "hls.iframe.keyframe",
                    rendition.where(index),
                    "the range does not start with a video keyframe",
                )
        self.findings.passed("hls.iframe.keyframe", uri)


def _round(seconds: float) -> int:
    return math.floor(seconds + 0.5)


def check_hls(reader: StreamReader, location: str, text: str) -> StreamCheck:
    """Check the HLS playlist ``text`` read from ``location`` and all it names.

    Raises:
        InvalidMedia: ``text`` is not an HLS playlist.
    """
    playlist = parse(text, location)
    checker = HlsChecker(reader, location)
    if not playlist.is_variant:
        name = location.rsplit("/", 1)[-1]
        media = checker.media_playlist(name, location, playlist, False)
        check_alignment([media.rendition], checker.findings)
        peak, average = media.bitrates()
        return StreamCheck(
            display(location),
            "hls",
            checker.findings.ordered(),
            (summary(media.rendition, peak=peak, average=average),),
        )
    independent = bool(playlist.is_independent_segments)
    summaries = _check_master(checker, playlist, independent)
    renditions = [m.rendition for m in checker.media.values() if m is not None]
    check_alignment(renditions, checker.findings)
    return StreamCheck(display(location), "hls", checker.findings.ordered(), tuple(summaries))


def _check_master(
    checker: HlsChecker, playlist: m3u8.M3U8, independent: bool
) -> list[RenditionSummary]:
    findings = checker.findings
    groups: dict[str, list[MediaPlaylist]] = {}
    for media in playlist.media:
        if media.type == "AUDIO" and media.uri:
            loaded = checker.load_media(media.uri, independent)
            if loaded is not None:
                groups.setdefault(media.group_id, []).append(loaded)
    summaries: list[RenditionSummary] = []
    variants = {resolve(checker.location, variant.uri) for variant in playlist.playlists}
    for group in groups.values():
        for audio in group:
            if audio.location in variants:
                continue  # summarized below, with what its variant declares
            peak, average = audio.bitrates()
            summaries.append(summary(audio.rendition, peak=peak, average=average))
    video_sizes: list[tuple[str, tuple[int, int]]] = []
    for variant in playlist.playlists:
        media = checker.load_media(variant.uri, independent)
        if media is None or not media.rendition.measured:
            continue
        info = variant.stream_info
        name = variant.uri
        # A variant may be one of its own AUDIO group's renditions (an audio-only variant).
        audio_group = [a for a in groups.get(info.audio or "", []) if a is not media]
        peak, average = media.bitrates()
        if audio_group:  # the player fetches the group's heaviest rendition alongside
            peak += max(a.bitrates()[0] for a in audio_group)
            average += max(a.bitrates()[1] for a in audio_group)
        rendition = media.rendition
        first = rendition.measured[0]
        _bandwidth_rules(findings, name, info.bandwidth, info.average_bandwidth, peak, average)
        actual = list(rendition.codecs) + [
            codec for codec in (audio_group[0].rendition.codecs if audio_group else ())
        ]
        if not info.codecs:
            findings.fail(
                "hls.master.codecs", name, f"no CODECS (the streams are {','.join(actual)})"
            )
        else:
            problems = codec_mismatches(split_codecs(info.codecs), actual)
            findings.check("hls.master.codecs", name, not problems, "; ".join(problems))
        if first.video_codec:
            size = (first.width or 0, first.height or 0)
            video_sizes.append((name, size))
            declared = tuple(info.resolution) if info.resolution else None
            findings.check(
                "hls.master.resolution",
                name,
                declared == size,
                f"RESOLUTION is {_size(declared)}, the frames are {_size(size)}",
            )
            rate = first.frame_rate
            findings.check(
                "hls.master.frame-rate",
                name,
                info.frame_rate is not None
                and rate is not None
                and abs(float(info.frame_rate) - rate) <= _FRAME_RATE_TOLERANCE * rate,
                f"FRAME-RATE is {info.frame_rate if info.frame_rate else 'missing'}, "
                f"the frames run at {rate}",
            )
        summaries.append(
            summary(
                rendition,
                peak=peak,
                average=average,
                declared_bandwidth=info.bandwidth,
                declared_average=info.average_bandwidth,
            )
        )
    _iframe_rules(checker, playlist, video_sizes)
    return summaries


def _bandwidth_rules(
    findings: Findings,
    name: str,
    bandwidth: int | None,
    average_bandwidth: int | None,
    peak: int,
    average: int,
) -> None:
    findings.check(
        "hls.master.bandwidth",
        name,
        bool(bandwidth) and (bandwidth or 0) >= peak,
        f"BANDWIDTH is {bandwidth or 'missing'}, below the measured peak {peak} bit/s",
    )
    low, high = average * (1 - AVERAGE_TOLERANCE), average * (1 + AVERAGE_TOLERANCE)
    findings.check(
        "hls.master.average-bandwidth",
        name,
        bool(average_bandwidth) and low <= (average_bandwidth or 0) <= high,
        f"AVERAGE-BANDWIDTH is {average_bandwidth or 'missing'}, the measured average is "
        f"{average} bit/s (allowed {round(low)}-{round(high)})",
    )


def _iframe_rules(
    checker: HlsChecker, playlist: m3u8.M3U8, video_sizes: list[tuple[str, tuple[int, int]]]
) -> None:
    iframe_sizes = [
        tuple(p.iframe_stream_info.resolution) if p.iframe_stream_info.resolution else None
        for p in playlist.iframe_playlists
    ]
    undeclared = iframe_sizes.count(None)
    for name, size in video_sizes:
        if size in iframe_sizes:
            iframe_sizes.remove(size)
            ok = True
        elif undeclared:
            undeclared -= 1
            ok = True
        else:
            ok = False
        checker.findings.check(
            "hls.master.iframes",
            name,
            ok,
            f"no EXT-X-I-FRAME-STREAM-INF with RESOLUTION={_size(size)} for this rendition",
        )
    for iframe in playlist.iframe_playlists:
        checker.iframe_playlist(iframe.uri)


def _size(size: tuple[int, ...] | None) -> str:
    return f"{size[0]}x{size[1]}" if size else "missing"
