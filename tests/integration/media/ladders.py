"""Small HLS and DASH ladders written by hand-made FFmpeg commands (hls and dash muxers) on
lavfi clips, and the edits that complete or break them, for the ladder checker's tests.

FFmpeg's hls muxer writes BANDWIDTH, AVERAGE-BANDWIDTH, CODECS and RESOLUTION itself (its own
measurement), but no FRAME-RATE and no I-frame playlists: :func:`complete_master` adds those
from facts the test knows (the clip's rate) and from the segment files (each keyframe's bytes,
found by PyAV's packet positions), so that a complete ladder owes nothing to the checker.
"""

from __future__ import annotations

import io
import math
import re
import struct
from pathlib import Path

import av

from tests.clips import run_ffmpeg

FPS = 25
DURATION = 7
RUNGS = ((320, 180, "300k"), (160, 90, "100k"))


def _inputs(rungs: tuple[tuple[int, int, str], ...], audio_per_rung: bool = True) -> list[str]:
    split = f"[0:v]split={len(rungs)}" + "".join(f"[s{i}]" for i in range(len(rungs)))
    scales = ";".join(f"[s{i}]scale={w}:{h}[v{i}]" for i, (w, h, _) in enumerate(rungs))
    args = [
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}:duration={DURATION}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={DURATION}",
        "-filter_complex", f"{split};{scales}",
    ]  # fmt: skip
    for i in range(len(rungs)):
        args += ["-map", f"[v{i}]"]
    for _ in rungs if audio_per_rung else rungs[:1]:
        args += ["-map", "1:a"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "64k"]
    for i, (_, _, bitrate) in enumerate(rungs):
        args += [f"-b:v:{i}", bitrate]
    return args


def encode_hls(
    folder: Path,
    *,
    segment_type: str = "mpegts",
    hls_time: int = 2,
    keyframes: bool = True,
    single_file: bool = False,
    rungs: tuple[tuple[int, int, str], ...] = RUNGS,
) -> Path:
    """An HLS ladder in ``folder`` (one FFmpeg, var_stream_map, video + audio muxed per
    variant); returns its master playlist. ``keyframes=False`` encodes one long GOP and cuts
    segments by time (``split_by_time``), so segments after the first start mid-GOP."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "m4s" if segment_type == "fmp4" else "ts"
    flags = ["independent_segments"]
    args = _inputs(rungs)
    if keyframes:
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{hls_time})", "-sc_threshold", "0"]
    else:
        args += ["-g", "1000", "-keyint_min", "1000", "-sc_threshold", "0"]
        flags.append("split_by_time")
    if single_file:
        flags.append("single_file")
    pattern = f"v%v.{suffix}" if single_file else f"v%v_%03d.{suffix}"
    args += [
        "-f", "hls", "-hls_time", str(hls_time), "-hls_playlist_type", "vod",
        "-hls_segment_type", segment_type, "-hls_flags", "+".join(flags),
        "-hls_segment_filename", str(folder / pattern),
        "-hls_fmp4_init_filename", "init_%v.mp4",
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(f"v:{i},a:{i}" for i in range(len(rungs))),
        str(folder / "v%v.m3u8"),
    ]  # fmt: skip
    run_ffmpeg(args)
    return folder / "master.m3u8"


def _media_entries(playlist: Path) -> tuple[str | None, list[tuple[float, str, int, int]]]:
    """(EXT-X-MAP URI, [(EXTINF, URI, offset, length)]) read line by line."""
    init = None
    entries: list[tuple[float, str, int, int]] = []
    duration, byterange = 0.0, None
    ends: dict[str, int] = {}
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXT-X-MAP:"):
            init = re.search(r'URI="([^"]+)"', line).group(1)  # type: ignore[union-attr]
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].rstrip(","))
        elif line.startswith("#EXT-X-BYTERANGE:"):
            byterange = line.split(":", 1)[1]
        elif line and not line.startswith("#"):
            if byterange:
                length, _, offset = byterange.partition("@")
                start = int(offset) if offset else ends.get(line, 0)
                span = (start, int(length))
            else:
                span = (0, (playlist.parent / line).stat().st_size)
            ends[line] = span[0] + span[1]
            entries.append((duration, line, *span))
            byterange = None
    return init, entries


def _keyframe_range(data: bytes) -> tuple[int, int]:
    """(offset, length) of the first video keyframe's bytes in a TS: from its packet's
    position to the next video packet's."""
    with av.open(io.BytesIO(data), format="mpegts") as container:
        positions = [p.pos for p in container.demux(video=0) if p.pos is not None][:2]
    return positions[0], positions[1] - positions[0]


def write_iframe_playlist(playlist: Path, name: str) -> None:
    """An I-frame playlist beside ``playlist``: one entry per segment, the byte range of the
    segment's keyframe (TS) or the whole fragment (fMP4, after its EXT-X-MAP)."""
    init, entries = _media_entries(playlist)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:3",
             "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-I-FRAMES-ONLY"]  # fmt: skip
    if init:
        lines.append(f'#EXT-X-MAP:URI="{init}"')
    for duration, uri, offset, length in entries:
        start, size = offset, length
        if not init:
            with (playlist.parent / uri).open("rb") as source:
                source.seek(offset)
                key_offset, size = _keyframe_range(source.read(length))
            start = offset + key_offset
        lines += [f"#EXTINF:{duration:.6f},", f"#EXT-X-BYTERANGE:{size}@{start}", uri]
    lines.append("#EXT-X-ENDLIST")
    (playlist.parent / name).write_text("\n".join(lines) + "\n")


def bandwidths(playlist: Path) -> tuple[int, int]:
    """(peak, average) bit/s of a media playlist's segments: bytes over EXTINF, the peak of
    single segments (never below the RFC 8216 peak over runs of segments)."""
    _, entries = _media_entries(playlist)
    peak = max(length * 8 / duration for duration, _, _, length in entries)
    average = sum(e[3] for e in entries) * 8 / sum(e[0] for e in entries)
    return math.ceil(peak), round(average)


def complete_master(master: Path, frame_rate: float = FPS) -> None:
    """Add FRAME-RATE to every variant and one I-frame playlist per video variant, and write
    BANDWIDTH and AVERAGE-BANDWIDTH from the segment files' sizes (FFmpeg leaves the ``styp``
    box of fMP4 segments out of its own figures)."""
    lines = master.read_text().splitlines()
    out: list[str] = []
    iframes: list[str] = []
    for index, original in enumerate(lines):
        line = original
        if line.startswith("#EXT-X-STREAM-INF:"):
            uri = lines[index + 1]
            peak, average = bandwidths(master.parent / uri)
            line = re.sub(r"(?<![-A-Z])BANDWIDTH=\d+", f"BANDWIDTH={peak}", line)
            line = re.sub(r"AVERAGE-BANDWIDTH=\d+", f"AVERAGE-BANDWIDTH={average}", line)
            line += f",FRAME-RATE={frame_rate:.3f}"
            resolution = re.search(r"RESOLUTION=(\d+x\d+)", line).group(1)  # type: ignore[union-attr]
            video = re.search(r'CODECS="(avc1[^,"]*)', line).group(1)  # type: ignore[union-attr]
            name = "iframes_" + uri.replace("/", "_")
            write_iframe_playlist(master.parent / uri, name)
            iframes.append(
                f"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,RESOLUTION={resolution},"
                f'CODECS="{video}",URI="{Path(uri).parent / name if "/" in uri else name}"'
            )
        out.append(line)
    # The I-frame playlists live beside their media playlists.
    master.write_text("\n".join(out + iframes) + "\n")


def merge_masters(master: Path, parts: list[Path]) -> None:
    """One master naming the variants of several one-command masters (in sub-folders)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for part in parts:
        folder = part.parent.name
        body = part.read_text().splitlines()
        for index, line in enumerate(body):
            if line.startswith("#EXT-X-STREAM-INF:"):
                lines += [line, f"{folder}/{body[index + 1]}"]
    master.write_text("\n".join(lines) + "\n")


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in the file (which must hold it)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def encode_dash(
    folder: Path,
    *,
    timeline: bool = True,
    single_file: bool = False,
    gops: tuple[int, int] = (2, 2),
) -> Path:
    """A DASH ladder (the dash muxer: video adaptation set of two rungs, audio apart);
    returns its MPD. ``gops`` are the seconds between forced keyframes of each rung (the
    muxer cuts each Representation at its own keyframes)."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [
        *_inputs(RUNGS, audio_per_rung=False),
        "-force_key_frames:v:0", f"expr:gte(t,n_forced*{gops[0]})",
        "-force_key_frames:v:1", f"expr:gte(t,n_forced*{gops[1]})", "-sc_threshold", "0",
        "-f", "dash", "-seg_duration", "2",
        "-use_timeline", "1" if timeline else "0", "-use_template", "1",
        "-single_file", "1" if single_file else "0",
        "-adaptation_sets", "id=0,streams=v id=1,streams=a",
        str(folder / "manifest.mpd"),
    ]  # fmt: skip
    run_ffmpeg(args)
    return folder / "manifest.mpd"


def write_segment_base_mpd(folder: Path) -> Path:
    """One fragmented MP4 with a global sidx (``-movflags +dash+global_sidx``) and an MPD
    addressing it with ``SegmentBase`` (initialization and index ranges found by walking
    its top-level boxes)."""
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "video.mp4"
    run_ffmpeg([
        "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate={FPS}:duration={DURATION}",
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "100k",
        "-force_key_frames", "expr:gte(t,n_forced*2)", "-sc_threshold", "0",
        "-movflags", "+dash+global_sidx", "-f", "mp4", str(media),
    ])  # fmt: skip
    data = media.read_bytes()
    boxes: dict[bytes, tuple[int, int]] = {}
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.setdefault(kind, (offset, size))
        offset += size
    moov, sidx = boxes[b"moov"], boxes[b"sidx"]
    mpd = folder / "manifest.mpd"
    mpd.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"
     type="static" mediaPresentationDuration="PT{DURATION}S" minBufferTime="PT4S">
  <Period id="0">
    <AdaptationSet contentType="video" segmentAlignment="true" startWithSAP="1">
      <Representation id="v" mimeType="video/mp4" codecs="avc1.42c00c" bandwidth="200000"
                      width="160" height="90">
        <BaseURL>video.mp4</BaseURL>
        <SegmentBase indexRange="{sidx[0]}-{sidx[0] + sidx[1] - 1}">
          <Initialization range="0-{moov[0] + moov[1] - 1}"/>
        </SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
""")
    return mpd
