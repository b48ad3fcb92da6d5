"""Encode and package a resolved ladder, then publish manifests that tell the truth.

``package_ladder`` runs the one FFmpeg command (``command``), reads every segment back
(``scan``), moves the media files to their published names and writes the manifests from
what was measured (``hls``, ``dash``). FFmpeg's own manifests are never published: its
``BANDWIDTH`` is the nominal rate plus a guess, its audio-only variant competes with the
video ones, and the dash muxer's playlists carry wall-clock dates.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from reelflow.errors import FFmpegFailed, SpecError
from reelflow.media.ladder.command import LadderCommand, RawStream, build_ladder_command
from reelflow.media.ladder.dash import RepresentationFacts, rewrite_mpd, template_escape
from reelflow.media.ladder.hls import (
    AudioMedia,
    PlaylistEntry,
    Variant,
    master_playlist,
    media_playlist,
    read_segments,
)
from reelflow.media.ladder.rates import average_bitrate, peak_bitrate, target_duration
from reelflow.media.ladder.scan import ByteRange, SegmentScan, StreamFacts, scan_segment
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.ladders import LadderFormat, PackageNames, ResolvedLadder
from reelflow.specs.media import MediaInfo
from reelflow.specs.packages import (
    COMMIT_ORDER,
    FileRole,
    LadderPackage,
    PackageFile,
    RenditionReport,
)


@dataclass
class _Rendition:
    number: int
    raw: RawStream
    scans: list[SegmentScan]
    facts: StreamFacts
    peak: int = 0
    average: int = 0
    segment_names: list[str] | None = None
    init_name: str = ""
    single_name: str = ""


def package_ladder(
    runner: FFmpegRunner,
    source: str,
    info: MediaInfo,
    ladder: ResolvedLadder,
    out_dir: Path,
    *,
    names: PackageNames | None = None,
    video_preset: str = "medium",
    threads: int = 0,
    timeout: float = 3600.0,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> LadderPackage:
    """Write the package of ``ladder`` for ``source`` into ``out_dir`` (created; must not
    hold another package) and describe it. Scratch files go to ``out_dir`` + ``.raw`` and
    are removed.

    Raises:
        FFmpegFailed, FFmpegTimeout, JobCancelled: from the run (see ``FFmpegRunner.run``);
            FFmpegFailed also when a written segment cannot be read back or a video segment
            does not start with a keyframe.
        SpecError: ``names`` give the master playlist a rendition playlist's name.
    """
    names = names or PackageNames()
    raw_dir = out_dir.with_name(out_dir.name + ".raw")
    shutil.rmtree(raw_dir, ignore_errors=True)
    raw_dir.mkdir(parents=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        command = build_ladder_command(
            source, info, ladder, raw_dir, video_preset=video_preset, threads=threads
        )
        runner.run(command.args, timeout=timeout, on_progress=on_progress, cancel=cancel)
        return _publish(command, ladder, out_dir, names)
    finally:
        shutil.rmtree(raw_dir, ignore_errors=True)


def publish_ladder(
    command: LadderCommand,
    ladder: ResolvedLadder,
    out_dir: Path,
    names: PackageNames | None = None,
) -> LadderPackage:
    """The second half of :func:`package_ladder` for a ladder encoded as part of a larger
    command (``ladder_outputs``): after that command ran, read back what it wrote in
    ``command.raw_dir``, publish the package in ``out_dir`` (created) and remove the raw
    folder. Raises as ``package_ladder`` does after its run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _publish(command, ladder, out_dir, names or PackageNames())
    finally:
        shutil.rmtree(command.raw_dir, ignore_errors=True)


def _measure(command: LadderCommand, fmp4: bool) -> list[_Rendition]:
    renditions = []
    for number, raw in enumerate(command.streams):
        refs = read_segments(raw.playlist)
        if not refs:
            raise FFmpegFailed(
                f"FFmpeg wrote no segment for rendition {number}", code="FFmpegFailed.NoOutput"
            )
        scans: list[SegmentScan] = []
        facts: StreamFacts | None = None
        for i, ref in enumerate(refs):
            scan, found = scan_segment(ref, fmp4=fmp4, want_facts=i == 0)
            facts = facts or found
            if raw.kind == "video" and not scan.starts_with_keyframe:
                raise FFmpegFailed(
                    f"segment {i} of video rendition {number} does not start with a keyframe",
                    code="FFmpegFailed.SegmentWithoutKeyframe",
                )
            scans.append(scan)
        assert facts is not None
        renditions.append(_Rendition(number, raw, scans, facts))
    return renditions


def _move(raw: ByteRange, name: str, out_dir: Path, moved: dict[Path, str]) -> str:
    """Move ``raw``'s file to ``out_dir/name`` once (single files hold many ranges)."""
    if raw.path not in moved:
        os.replace(raw.path, out_dir / name)
        moved[raw.path] = name
    return moved[raw.path]


def _publish(
    command: LadderCommand, ladder: ResolvedLadder, out_dir: Path, names: PackageNames
) -> LadderPackage:
    segment_type = ladder.segment_type
    fmp4 = not segment_type.is_ts
    renditions = _measure(command, fmp4)
    target = target_duration([s.duration for r in renditions for s in r.scans])
    roles: dict[str, FileRole] = {}
    moved: dict[Path, str] = {}
    seg_ext = "ts" if segment_type.is_ts else "m4s"
    for r in renditions:
        sizes = [s.size for s in r.scans]
        durations = [s.duration for s in r.scans]
        r.peak = peak_bitrate(sizes, durations, target)
        r.average = average_bitrate(sizes, durations)
        stream = names.stream(r.number)
        first = r.scans[0].ref
        if first.init is not None and not segment_type.single_file:
            r.init_name = _move(first.init, f"{stream}_init.mp4", out_dir, moved)
            roles[r.init_name] = FileRole.INIT
        if segment_type.single_file:
            single_ext = "ts" if segment_type.is_ts else "mp4"
            r.single_name = _move(first.media, f"{stream}.{single_ext}", out_dir, moved)
            roles[r.single_name] = FileRole.SEGMENT
        else:
            r.segment_names = []
            for i, scan in enumerate(r.scans):
                published = f"{names.segment_name(r.number, i)}.{seg_ext}"
                name = _move(scan.ref.media, published, out_dir, moved)
                r.segment_names.append(name)
                roles[name] = FileRole.SEGMENT

    master = mpd = ""
    playlists: dict[int, tuple[str, str]] = {}
    if ladder.format in (LadderFormat.HLS, LadderFormat.CMAF):
        for r in renditions:
            playlists[r.number] = _write_media_playlists(r, names, target, out_dir, roles)
        master = f"{names.master}.m3u8"
        if master in roles:
            raise SpecError(
                f"the master playlist name {master} is also a rendition's playlist: "
                "choose a master name apart from the sub-stream names",
                field="output_object_path",
            )
        text = _master(ladder, renditions, playlists, fmp4)
        (out_dir / master).write_text(text)
        roles[master] = FileRole.MASTER
    if ladder.format in (LadderFormat.DASH, LadderFormat.CMAF):
        assert command.mpd is not None
        mpd = f"{names.master}.mpd"
        facts = [_representation(r, names, segment_type.single_file) for r in renditions]
        longest = max(s.duration for r in renditions for s in r.scans)
        (out_dir / mpd).write_text(rewrite_mpd(command.mpd, facts, longest))
        roles[mpd] = FileRole.MPD

    return LadderPackage(
        format=ladder.format.value,
        segment_type=segment_type.value,
        master=master,
        mpd=mpd,
        target_duration=target,
        renditions=[_report(r, ladder, playlists) for r in renditions],
        files=_files(out_dir, roles),
        dropped=ladder.dropped,
    )


def _uri_of(r: _Rendition, scan_index: int) -> str:
    if r.single_name:
        return r.single_name
    assert r.segment_names is not None
    return r.segment_names[scan_index]


def _write_media_playlists(
    r: _Rendition, names: PackageNames, target: int, out_dir: Path, roles: dict[str, FileRole]
) -> tuple[str, str]:
    """Write the media playlist (and the I-frame playlist of a video rendition)."""
    stream = names.stream(r.number)
    single = bool(r.single_name)
    init = None
    first = r.scans[0].ref
    if first.init is not None:
        init_name = r.init_name or r.single_name
        init_range = first.init
        init = PlaylistEntry(
            init_name,
            0.0,
            init_range.offset if single else None,
            init_range.length if single else None,
        )
    entries = [
        PlaylistEntry(
            _uri_of(r, i),
            scan.duration,
            scan.ref.media.offset if single else None,
            scan.size if single else None,
        )
        for i, scan in enumerate(r.scans)
    ]
    playlist = f"{stream}.m3u8"
    (out_dir / playlist).write_text(media_playlist(entries, target, init, iframes=False))
    roles[playlist] = FileRole.MEDIA_PLAYLIST
    if r.raw.kind != "video":
        return playlist, ""
    frames = _iframe_entries(r)
    iframes = f"{stream}_iframes.m3u8"
    (out_dir / iframes).write_text(media_playlist(frames, target, init, iframes=True))
    roles[iframes] = FileRole.IFRAME_PLAYLIST
    return playlist, iframes


def _iframe_entries(r: _Rendition) -> list[PlaylistEntry]:
    located = [(k, i) for i, scan in enumerate(r.scans) for k in scan.keyframes]
    end = r.scans[-1].end
    entries = []
    for n, (key, i) in enumerate(located):
        following = located[n + 1][0].time if n + 1 < len(located) else end
        entries.append(
            PlaylistEntry(_uri_of(r, i), max(0.0, following - key.time), key.offset, key.length)
        )
    return entries


def _iframe_rates(entries: list[PlaylistEntry]) -> tuple[int, int]:
    rates = [8 * (e.length or 0) / e.duration for e in entries if e.duration > 0]
    total = sum(e.duration for e in entries)
    average = sum(8 * (e.length or 0) for e in entries) / total if total > 0 else 0.0
    return round(max(rates, default=0.0)) + 1, round(average) + 1


def _master(
    ladder: ResolvedLadder,
    renditions: list[_Rendition],
    playlists: dict[int, tuple[str, str]],
    fmp4: bool,
) -> str:
    videos = [r for r in renditions if r.raw.kind == "video"]
    audios = {ladder.audio[r.raw.index].group: r for r in renditions if r.raw.kind == "audio"}
    variants: list[Variant] = []
    media: list[AudioMedia] = []
    if not videos:  # audio-only ladder: each audio rendition is a variant
        for r in audios.values():
            variants.append(Variant(playlists[r.number][0], r.peak, r.average, r.facts.codecs))
    for r in videos:
        rung = ladder.video[r.raw.index]
        audio = audios.get(rung.audio_group)
        codecs = r.facts.codecs + (f",{audio.facts.codecs}" if audio else "")
        iframe_peak, iframe_average = _iframe_rates(_iframe_entries(r))
        variants.append(
            Variant(
                uri=playlists[r.number][0],
                bandwidth=r.peak + (audio.peak if audio else 0),
                average_bandwidth=r.average + (audio.average if audio else 0),
                codecs=codecs,
                resolution=(r.facts.width, r.facts.height),
                frame_rate=r.facts.frame_rate or None,
                audio_group=rung.audio_group if audio else "",
                iframe_uri=playlists[r.number][1],
                iframe_bandwidth=iframe_peak,
                iframe_average_bandwidth=iframe_average,
                video_codecs=r.facts.codecs,
            )
        )
    if videos:
        for group, r in audios.items():
            spec = ladder.audio[r.raw.index]
            media.append(
                AudioMedia(
                    group=group,
                    name=f"AAC {spec.bitrate} kbps",
                    uri=playlists[r.number][0],
                    channels=r.facts.channels,
                    default=True,
                )
            )
    return master_playlist(variants, media, fmp4=fmp4)


def _representation(r: _Rendition, names: PackageNames, single: bool) -> RepresentationFacts:
    measured = RepresentationFacts(
        id=str(r.number),
        peak=r.peak,
        codecs=r.facts.codecs,
        sizes=tuple(s.size for s in r.scans),
        durations=tuple(s.duration for s in r.scans),
    )
    if single:
        return replace(measured, single_file=r.single_name)
    media = template_escape(names.segment_name(r.number, "{n}")).replace("{n}", "$Number$")
    return replace(measured, init=template_escape(r.init_name), media=f"{media}.m4s")


def _report(
    r: _Rendition, ladder: ResolvedLadder, playlists: dict[int, tuple[str, str]]
) -> RenditionReport:
    playlist, iframes = playlists.get(r.number, ("", ""))
    video = r.raw.kind == "video"
    rung = ladder.video[r.raw.index] if video else None
    group = rung.audio_group if rung else ladder.audio[r.raw.index].group
    return RenditionReport(
        kind=r.raw.kind,
        sub_stream=r.number,
        stream_info=rung.stream_info if rung else -1,
        codecs=r.facts.codecs,
        width=r.facts.width,
        height=r.facts.height,
        frame_rate=r.facts.frame_rate,
        sample_rate=r.facts.sample_rate,
        channels=r.facts.channels,
        audio_group=group,
        peak_bitrate=r.peak,
        average_bitrate=r.average,
        segment_count=len(r.scans),
        duration=round(sum(s.duration for s in r.scans), 6),
        max_segment_duration=round(max(s.duration for s in r.scans), 6),
        playlist=playlist,
        iframe_playlist=iframes,
    )


def _files(out_dir: Path, roles: dict[str, FileRole]) -> list[PackageFile]:
    files = []
    for name, role in roles.items():
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with (out_dir / name).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        files.append(PackageFile(path=name, size=size, md5=digest.hexdigest(), role=role))
    rank = {role: i for i, role in enumerate(COMMIT_ORDER)}
    return sorted(files, key=lambda f: (rank[f.role], f.path))
