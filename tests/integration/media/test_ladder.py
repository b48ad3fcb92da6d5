"""Adaptive ladders made by real FFmpeg on tiny lavfi clips, read back the way a player and
a validator would: the manifests with ``m3u8`` / ``mpegdash``, the segments with PyAV."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from reelflow.errors import SpecError
from reelflow.media.ladder import package_ladder
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner
from reelflow.media.streamcheck import check_stream
from reelflow.planner.ladder import select_rungs
from reelflow.presets.ladders import HLS_LADDER, get_ladder_preset
from reelflow.specs.ladders import LadderTemplate, PackageNames
from reelflow.specs.packages import COMMIT_ORDER, FileRole, LadderPackage
from reelflow.specs.templates import TRUSTED
from tests.clips import ClipCache

pytestmark = pytest.mark.integration

SEG = 2
# (short side, video kbps, audio kbps): the 360 rung is above the 320x180 source.
RUNGS = ((36, 128, 64), (90, 200, 64), (180, 400, 128), (360, 800, 128))
PROFILES = {"High": 100, "Main": 77, "Baseline": 66, "Constrained Baseline": 66}


def template(fmt: str, segment_type: str | None = None, **extra: Any) -> LadderTemplate:
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": v},
         "audio": {"codec": "aac", "bitrate": a, "sample_rate": 48000}}
        for h, v, a in RUNGS
    ]  # fmt: skip
    data: dict[str, Any] = {"format": fmt, "segment_seconds": SEG, "stream_infos": infos}
    if segment_type:
        data["segment_type"] = segment_type
    # Tiny rungs (36 px) are below the custom-template minimum: validate as the system does.
    return LadderTemplate.model_validate({**data, **extra}, context=TRUSTED)


def make(
    clips: ClipCache, ffmpeg_bin: Path, out: Path, tmpl: LadderTemplate, **clip: Any
) -> LadderPackage:
    """Package the ladder, and check every manifest with ``reelflow check-stream``'s rules."""
    source = clips(duration=8.0, width=320, height=180, **clip)
    info = probe(source)
    ladder = select_rungs(tmpl, info, definition=1001)
    package = package_ladder(
        FFmpegRunner(ffmpeg_bin),
        str(source),
        info,
        ladder,
        out,
        names=PackageNames.default("clip", 1001),
        video_preset="veryfast",
        timeout=120,
    )
    for manifest in (package.master, package.mpd):
        if manifest:
            checked = check_stream(str(out / manifest))
            assert checked.passed, [f"{r.rule} {r.where}: {r.message}" for r in checked.failures]
    return package


# -- reading segments back ---------------------------------------------------------------
@dataclass
class Seg:
    size: int
    start: float
    end: float
    starts_with_key: bool
    keys: list[tuple[int, int]]  # (offset in the file, size) of each keyframe packet
    codec: str  # RFC 6381 string as PyAV reports the stream (profile + level)


def _read(path: Path, byterange: str | None, previous_end: int) -> tuple[bytes, int]:
    data = path.read_bytes()
    if not byterange:
        return data, 0
    length, _, offset = byterange.partition("@")
    start = int(offset) if offset else previous_end
    return data[start : start + int(length)], start


def pyav_segment(data: bytes, init: bytes, base: int, fmp4: bool) -> Seg:
    with av.open(io.BytesIO(init + data), format="mp4" if fmp4 else "mpegts") as container:
        stream = container.streams[0]
        tb = stream.time_base
        packets = [p for p in container.demux(stream) if p.size]
        ctx = stream.codec_context
        if stream.type == "video":
            codec = f"avc1.{PROFILES[ctx.profile]:02x}??{ctx.level:02x}"
        else:
            codec = "mp4a.40.2" if ctx.profile == "LC" else f"mp4a.?{ctx.profile}"
    starts = [float(p.pts * tb) for p in packets]
    ends = [float((p.pts + p.duration) * tb) for p in packets]
    video = codec.startswith("avc1")
    keys = [(base + p.pos - len(init), p.size) for p in packets if p.is_keyframe and video]
    return Seg(len(data), min(starts), max(ends), packets[0].is_keyframe, keys, codec)


def hls_segments(playlist: m3u8.M3U8, folder: Path) -> list[Seg]:
    fmp4 = any(s.init_section for s in playlist.segments)
    found, end = [], 0
    for segment in playlist.segments:
        init = b""
        if segment.init_section is not None:
            init, _ = _read(folder / segment.init_section.uri, segment.init_section.byterange, 0)
        data, start = _read(folder / segment.uri, segment.byterange, end)
        end = start + len(data)
        found.append(pyav_segment(data, init, start, fmp4))
    return found


def same_codec(declared: str, seen: str) -> bool:
    """``avc1.64000d`` vs PyAV's profile and level (the constraint byte is not reported)."""
    return declared[:7] == seen[:7] and declared[9:] == seen[9:]


def peak(segs: list[Seg], target: int) -> float:
    """RFC 8216bis peak segment bit rate over runs of 0.5..1.5 target durations."""
    best = 0.0
    for i in range(len(segs)):
        bits = seconds = 0.0
        for s in segs[i:]:
            bits += 8 * s.size
            seconds += s.end - s.start
            if seconds > 1.5 * target + 1e-6:
                break
            if seconds >= 0.5 * target - 1e-6:
                best = max(best, bits / seconds)
    return best


def average(segs: list[Seg]) -> float:
    return sum(8 * s.size for s in segs) / sum(s.end - s.start for s in segs)


# -- the checks a validator makes ----------------------------------------------------------
def check_media_playlist(playlist: m3u8.M3U8, segs: list[Seg], video: bool) -> None:
    assert playlist.is_independent_segments
    assert playlist.is_endlist
    for entry, seg in zip(playlist.segments, segs, strict=True):
        assert math.floor(entry.duration + 0.5) <= playlist.target_duration
        assert abs(entry.duration - (seg.end - seg.start)) < 0.002
        if video:
            assert seg.starts_with_key, f"{entry.uri} does not start with a keyframe"


def check_iframes(iframes: m3u8.M3U8, folder: Path, segs: list[Seg], fmp4: bool) -> None:
    assert iframes.is_i_frames_only
    keys = {(s_uri, off) for s_uri, seg in segs for off, _ in seg.keys}
    sizes = {(s_uri, off): size for s_uri, seg in segs for off, size in seg.keys}
    assert len(iframes.segments) >= len(segs)
    for entry in iframes.segments:
        length, _, offset = entry.byterange.partition("@")
        start, length_i = int(offset), int(length)
        data = (folder / entry.uri).read_bytes()[start : start + length_i]
        assert len(data) == length_i
        if fmp4:
            assert data[4:8] == b"moof"
            # The range runs from the fragment to the end of one keyframe sample.
            assert any(
                (entry.uri, start + length_i - sizes[k]) == k for k in keys if k[0] == entry.uri
            )
        else:
            assert data[0] == 0x47  # a TS packet, at the keyframe's PES start
            assert (entry.uri, start) in keys


def check_hls(folder: Path, package: LadderPackage, *, fmp4: bool) -> dict[str, list[Seg]]:
    master = m3u8.load(str(folder / package.master))
    assert master.is_variant
    assert master.is_independent_segments
    audio_of = {m.group_id: m for m in master.media if m.type == "AUDIO"}
    segments: dict[str, list[Seg]] = {}

    def load(uri: str, video: bool) -> list[Seg]:
        if uri not in segments:
            playlist = m3u8.load(str(folder / uri))
            segs = hls_segments(playlist, folder)
            check_media_playlist(playlist, segs, video)
            segments[uri] = segs
        return segments[uri]

    for variant in master.playlists:
        info = variant.stream_info
        assert info.codecs, "CODECS missing"
        codecs = info.codecs.split(",")
        audio = audio_of.get(info.audio) if info.audio else None
        video_segs = load(variant.uri, video=info.resolution is not None)
        audio_segs = load(audio.uri, video=False) if audio else []
        assert same_codec(codecs[0], video_segs[0].codec) or codecs[0] == video_segs[0].codec
        if audio:
            assert codecs[1] == audio_segs[0].codec
        target = m3u8.load(str(folder / variant.uri)).target_duration
        measured_peak = peak(video_segs, target) + (peak(audio_segs, target) if audio else 0)
        measured_avg = average(video_segs) + (average(audio_segs) if audio else 0)
        assert info.bandwidth >= measured_peak
        assert abs(info.average_bandwidth - measured_avg) <= 0.10 * measured_avg
        if info.resolution:
            assert info.frame_rate == 25
    for iframe in master.iframe_playlists:
        playlist = m3u8.load(str(folder / iframe.uri))
        media_uri = iframe.uri.replace("_iframes", "")
        media = m3u8.load(str(folder / media_uri))
        pairs = [(s.uri, seg) for s, seg in zip(media.segments, segments[media_uri], strict=True)]
        check_iframes(playlist, folder, pairs, fmp4)
        assert (
            iframe.iframe_stream_info.codecs
            == m3u8.load(str(folder / package.master))
            .playlists[master.iframe_playlists.index(iframe)]
            .stream_info.codecs.split(",")[0]
        )
    return segments


def check_aligned(starts: list[list[float]]) -> None:
    """Segment boundaries line up across video renditions within one frame."""
    assert len({len(s) for s in starts}) == 1
    for boundary in zip(*starts, strict=True):
        assert max(boundary) - min(boundary) <= 1 / 25 + 1e-6


def check_commit_order(package: LadderPackage, folder: Path) -> None:
    rank = [COMMIT_ORDER.index(f.role) for f in package.files]
    assert rank == sorted(rank)
    assert {f.path for f in package.files} == {p.name for p in folder.iterdir()}
    for f in package.files:
        assert (folder / f.path).stat().st_size == f.size


# -- tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "segment_type", ["ts-segment", "mp4-segment", "ts-byterange", "mp4-byterange"]
)
def test_hls_ladder_tells_the_truth(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path, segment_type: str
) -> None:
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, template("HLS", segment_type))
    fmp4 = segment_type.startswith("mp4")
    # 360p is above the 320x180 source: dropped, never upscaled.
    assert package.dropped == [3]
    videos = [r for r in package.renditions if r.kind == "video"]
    assert [(r.width, r.height) for r in videos] == [(64, 36), (160, 90), (320, 180)]
    assert package.master == "clip_adaptiveDynamicStreaming_1001.m3u8"
    assert package.target_duration == SEG
    segments = check_hls(out, package, fmp4=fmp4)
    check_aligned([[s.start for s in segments[r.playlist]] for r in videos])
    check_commit_order(package, out)
    assert len(m3u8.load(str(out / package.master)).iframe_playlists) == 3
    if not segment_type.endswith("byterange"):
        assert (out / "clip_adaptiveDynamicStreaming_1001_0_0.ts").exists() != fmp4
    # Reported facts match the manifest's.
    for r in videos:
        assert r.segment_count == 4
        assert r.frame_rate == 25.0


def dash_representations(mpd_path: Path) -> list[Any]:
    mpd = MPEGDASHParser.parse(str(mpd_path))
    return [
        (aset, rep)
        for period in mpd.periods
        for aset in period.adaptation_sets
        for rep in aset.representations
    ]


def check_dash(folder: Path, mpd_name: str) -> dict[str, list[Seg]]:
    found: dict[str, list[Seg]] = {}
    target = SEG
    for _aset, rep in dash_representations(folder / mpd_name):
        (template_,) = rep.segment_templates
        init = (folder / template_.initialization).read_bytes()
        timeline = template_.segment_timelines[0].Ss
        count = sum((s.r or 0) + 1 for s in timeline)
        number = template_.start_number
        segs = []
        for n in range(number, number + count):
            name = template_.media.replace("$Number$", str(n))
            data = (folder / name).read_bytes()
            segs.append(pyav_segment(data, init, 0, fmp4=True))
        assert not (folder / template_.media.replace("$Number$", str(number + count))).exists()
        assert rep.codecs[:7] == segs[0].codec[:7]
        if rep.codecs.startswith("avc1"):
            assert same_codec(rep.codecs, segs[0].codec)
            assert all(s.starts_with_key for s in segs)
        assert rep.bandwidth >= peak(segs, target)
        found[rep.id] = segs
    return found


def test_dash_ladder_tells_the_truth(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, template("MPEG-DASH"))
    assert package.mpd == "clip_adaptiveDynamicStreaming_1001.mpd"
    assert package.master == ""
    assert not list(out.glob("*.m3u8"))  # DASH only: FFmpeg's playlists are not published
    segments = check_dash(out, package.mpd)
    videos = [str(r.sub_stream) for r in package.renditions if r.kind == "video"]
    check_aligned([[s.start for s in segments[v]] for v in videos])
    check_commit_order(package, out)


@pytest.mark.parametrize("fmt", ["MPEG-DASH", "CMAF"])
def test_dash_rungs_rounded_off_the_source_aspect_share_one_adaptation_set(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path, fmt: str
) -> None:
    # 128p of a 320x180 source is 228x128 (even sizes): not exactly 16:9, which the dash
    # muxer refuses in one adaptation set unless the rungs are displayed alike.
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": v},
         "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 48000}}
        for h, v in ((128, 200), (180, 400))
    ]  # fmt: skip
    tmpl = LadderTemplate.model_validate(
        {"format": fmt, "segment_seconds": SEG, "stream_infos": infos}, context=TRUSTED
    )
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, tmpl)
    reps = dash_representations(out / package.mpd)
    sizes = sorted((int(rep.width), int(rep.height)) for _aset, rep in reps if rep.width)
    assert sizes == [(228, 128), (320, 180)]
    assert len({id(aset) for aset, rep in reps if rep.width}) == 1  # one set: switchable
    for _aset, rep in reps:
        if rep.width:
            with av.open(str(out / rep.segment_templates[0].initialization)) as container:
                stream = container.streams.video[0]
                dar = stream.width * stream.sample_aspect_ratio / stream.height
                assert abs(float(dar) - 16 / 9) < 0.001


def test_cmaf_has_both_manifests_over_the_same_segments(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, template("CMAF"))
    assert package.master and package.mpd
    hls = check_hls(out, package, fmp4=True)
    dash = check_dash(out, package.mpd)
    for r in package.renditions:  # the same files, read through either manifest
        assert [s.start for s in dash[str(r.sub_stream)]] == [s.start for s in hls[r.playlist]]
    videos = [str(r.sub_stream) for r in package.renditions if r.kind == "video"]
    check_aligned([[s.start for s in dash[v]] for v in videos])
    # Every segment file is listed by both manifests; none was written twice.
    from_hls = {s.uri for uri in hls for s in m3u8.load(str(out / uri)).segments}
    from_mpd = set()
    for _aset, rep in dash_representations(out / package.mpd):
        (tmpl,) = rep.segment_templates
        count = sum((s.r or 0) + 1 for s in tmpl.segment_timelines[0].Ss)
        from_mpd |= {tmpl.media.replace("$Number$", str(n)) for n in range(count)}
    segment_files = {f.path for f in package.files if f.role is FileRole.SEGMENT}
    assert from_hls == from_mpd == segment_files
    assert package.files[-1].role is FileRole.MASTER


def test_cmaf_byterange(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, template("CMAF", "mp4-byterange"))
    check_hls(out, package, fmp4=True)
    segment_files = {f.path for f in package.files if f.role is FileRole.SEGMENT}
    base_urls = {
        rep.base_urls[0].base_url_value for _a, rep in dash_representations(out / package.mpd)
    }
    assert base_urls == segment_files


def test_audio_only_ladder(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    infos = [{"remove_video": 1, "audio": {"codec": "aac", "bitrate": kbps}} for kbps in (48, 96)]
    tmpl = LadderTemplate.model_validate(
        {"format": "HLS", "pure_audio": 1, "segment_seconds": SEG, "stream_infos": infos}
    )
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, tmpl)
    assert [r.kind for r in package.renditions] == ["audio", "audio"]
    master = m3u8.load(str(out / package.master))
    assert [p.stream_info.codecs for p in master.playlists] == ["mp4a.40.2", "mp4a.40.2"]
    assert master.iframe_playlists == [] and master.media == []
    check_hls(out, package, fmp4=False)
    low, high = (p.stream_info.average_bandwidth for p in master.playlists)
    assert low < high


def test_source_without_audio(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, template("HLS"), audio=False)
    master = m3u8.load(str(out / package.master))
    assert master.media == []
    assert all("," not in p.stream_info.codecs for p in master.playlists)
    assert all(p.stream_info.audio is None for p in master.playlists)
    check_hls(out, package, fmp4=False)


def test_variable_frame_rate_source_gets_constant_rate_aligned_renditions(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": 200, "fps": 25},
         "audio": {"codec": "aac", "bitrate": 64}}
        for h in (90, 180)
    ]  # fmt: skip
    tmpl = LadderTemplate.model_validate(
        {"format": "HLS", "segment_seconds": SEG, "stream_infos": infos}, context=TRUSTED
    )
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, tmpl, vfr=True)
    segments = check_hls(out, package, fmp4=False)  # FRAME-RATE=25 checked there
    videos = [r for r in package.renditions if r.kind == "video"]
    check_aligned([[s.start for s in segments[r.playlist]] for r in videos])
    assert all(r.max_segment_duration <= SEG + 0.5 for r in videos)


def test_hevc_ladder_in_fmp4_declares_hvc1(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    infos = [
        {"video": {"codec": "h265", "height": h, "bitrate": 200},
         "audio": {"codec": "aac", "bitrate": 64}}
        for h in (90, 180)
    ]  # fmt: skip
    tmpl = LadderTemplate.model_validate(
        {"format": "HLS", "segment_type": "mp4-segment", "segment_seconds": SEG,
         "stream_infos": infos},
        context=TRUSTED,
    )  # fmt: skip
    out = tmp_path / "pkg"
    package = make(clips, ffmpeg_bin, out, tmpl)
    master = m3u8.load(str(out / package.master))
    for variant in master.playlists:
        video_codec, audio_codec = variant.stream_info.codecs.split(",")
        playlist = m3u8.load(str(out / variant.uri))
        init = (out / playlist.segments[0].init_section.uri).read_bytes()
        assert b"hvc1" in init  # the sample entry Apple players require
        with av.open(io.BytesIO(init + (out / playlist.segments[0].uri).read_bytes())) as c:
            ctx = c.streams.video[0].codec_context
            assert ctx.profile == "Main"
            assert video_codec.startswith("hvc1.1.6.L")
            assert video_codec.split(".")[3] == f"L{ctx.level}"
        assert audio_codec == "mp4a.40.2"
        assert all(s.starts_with_key for s in hls_segments(playlist, out))


def test_540p_source_against_the_1080p_preset_gets_two_rungs(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    source = clips(duration=4.0, width=960, height=540)
    info = probe(source)
    preset = get_ladder_preset(HLS_LADDER)
    assert preset is not None
    ladder = select_rungs(preset, info, definition=HLS_LADDER)
    out = tmp_path / "pkg"
    package = package_ladder(
        FFmpegRunner(ffmpeg_bin), str(source), info, ladder, out,
        video_preset="ultrafast", timeout=120,
    )  # fmt: skip
    videos = [(r.width, r.height) for r in package.renditions if r.kind == "video"]
    assert videos == [(640, 360), (960, 540)]  # never upscaled to 720p or 1080p
    assert package.dropped == [2, 3]
    master = m3u8.load(str(out / package.master))
    assert [m.group_id for m in master.media] == ["audio0"]  # only the 64 kbps audio is used
    assert check_stream(str(out / package.master)).passed
    with pytest.raises(SpecError):
        package_ladder(
            FFmpegRunner(ffmpeg_bin), str(source), info, ladder, tmp_path / "clash",
            names=PackageNames(master="stream_0"), video_preset="ultrafast", timeout=120,
        )  # fmt: skip
