"""A long ladder (HLS, DASH, CMAF) encoded in chunks whose borders are segment borders. Pure but for
:func:`publish_chunked_ladder`, which only reads playlists, moves files and writes text.

A ladder forces an IDR at every multiple of its segment duration, and FFmpeg's hls muxer
cuts a segment at the first keyframe at or after each multiple. So a chunk that starts on
such a multiple starts exactly where the one-shot ladder starts a segment, and a chunk
job can write that range's segments itself, under their final numbers, with their final
timestamps: the packaged segments need no join at all. Chunk ``k`` (``Chunk``)::

    -ss S -i SOURCE                             S: a whole second before the cut
    [0:v:0] setpts=PTS+S/TB, fps=F,             the one-shot's timeline and frames
            trim=start=CUT0:end=CUT1,           that range's frames, exactly
            setpts=PTS-STARTPTS                 the chunk starts at 0 ...
            -> the ladder's own rungs (split, scale, encoders, keyframe grid)
    -start_number K -output_ts_offset LEAD+START     ... and is muxed at START (plus the
                                                lead), its first segment numbered
                                                K = START / SEG (rounded down)

Audio is encoded once over the whole source (the ladder's audio renditions alone, the
same command as the one-shot's audio part). :func:`publish_chunked_ladder` then lists
every chunk's segments of a rendition in order, one after the other, and hands that to
the one-shot ladder's publishing (``package._publish``): segments measured, moved to their
published names, media, I-frame and master playlists written from what was measured.

DASH and CMAF (the dash muxer): each chunk's run writes its own MPD; the published MPD is
the audio run's with the first chunk's video adaptation set, every Representation's
``SegmentTimeline`` the chunks' entries one after the other (``dash.merge_mpd``), then
corrected from measurements as the one-shot's is. Three differences from HLS:

- no lead: the dash muxer keeps negative timestamps (the one-shot's video starts decoding
  at minus x264's delay), so a chunk muxed at its start is at the one-shot's very times;
- the dash muxer cuts the audio where the first video rung cuts, not every SEG seconds of
  audio: the audio run carries stand-in video rungs (every rung's encoder and keyframe
  grid over tiny black frames, not published) so that it cuts the audio where the
  one-shot does;
- the dash muxer counts a segment's length from the previous cut, so a segment duration
  that is not a whole number of frames would move its cuts: such a ladder is not chunked.

Only ladders with separate segment files are chunked: a single-file rendition (byte
ranges into one file) would need its files joined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import m3u8

from reelflow.media.encoders import input_thread_args
from reelflow.media.ladder.command import (
    LadderCommand,
    RawStream,
    build_ladder_command,
    ladder_outputs,
)
from reelflow.media.ladder.dash import merge_mpd
from reelflow.media.ladder.package import _publish
from reelflow.specs.chunks import Chunk, ChunkPlan
from reelflow.specs.ladders import LadderFormat, PackageNames, ResolvedLadder
from reelflow.specs.media import MediaInfo
from reelflow.specs.packages import LadderPackage

# Seconds decoded before a chunk's cut (as ``reelflow.media.chunks.command``).
SEEK_MARGIN = 1.0
# Seconds added to every timestamp of every chunk and of the audio (``-output_ts_offset``).
# A one-shot ladder's muxer shifts all its streams by the most negative first timestamp
# (x264's B-frame delay, 0.08 s at 25 fps with ``veryfast``; AAC's priming, 1024 samples),
# which depends on the encoders and on which streams share the command. A chunk run alone
# would get a different shift (none at all after its offset), so every run gets this
# lead instead, larger than any encoder delay: then no run is shifted, and video and audio
# stand in the one-shot's relation (frame 0 at LEAD, the audio's priming just before it).
LEAD = 1.0
# The frame size of the DASH audio run's stand-in video rungs (``ladder_audio_command``).
SHADOW = (64, 36)


def lead(ladder: ResolvedLadder) -> float:
    """The offset of every run of ``ladder``: :data:`LEAD` for HLS; none for DASH/CMAF, whose
    muxer keeps negative timestamps (it shifts nothing, the one-shot's video starts decoding
    at minus x264's delay), so a chunk muxed at its start is at the one-shot's times."""
    return LEAD if ladder.format is LadderFormat.HLS else 0.0


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def ladder_chunkable(ladder: ResolvedLadder) -> bool:
    """A ladder with video and one file per segment: HLS, or DASH/CMAF whose segment
    duration is a whole number of frames (the dash muxer counts each segment's length from
    the previous cut, so a border between two frames would move its cuts: not chunked)."""
    if not ladder.video or ladder.segment_type.single_file:
        return False
    if ladder.format is LadderFormat.HLS:
        return True
    frames = ladder.segment_seconds * ladder.fps
    return abs(frames - round(frames)) < 1e-6


def plan_ladder_chunks(duration: float, ladder: ResolvedLadder, chunk_seconds: float) -> ChunkPlan:
    """Chunks of the ladder's timeline, each a whole number of segments (the chunk length
    rounded to the nearest multiple of ``segment_seconds``, at least one segment), every
    border on the first output frame at or after a segment border (where the one-shot
    ladder forces its IDR and its muxer cuts). One chunk when the source is not longer than
    two of them."""
    fps = ladder.fps
    seg = ladder.segment_seconds
    if fps <= 0 or seg <= 0:
        raise ValueError("a chunked ladder needs video (fps) and a segment duration")
    frames_total = max(1, round(duration * fps))
    end = frames_total / fps
    per_chunk = max(1, round(chunk_seconds / seg)) * seg if chunk_seconds > 0 else 0
    count = 1 if per_chunk <= 0 or end <= 2 * per_chunk else math.ceil(end / per_chunk)
    # first frame index of each chunk: the first frame at or after k * per_chunk
    firsts = [math.ceil(k * per_chunk * fps - 1e-6) for k in range(count)]
    firsts = [f for f in firsts if f < frames_total]
    chunks = []
    for k, first in enumerate(firsts):
        last = firsts[k + 1] if k + 1 < len(firsts) else frames_total
        chunks.append(
            Chunk(
                index=k,
                start=first / fps,
                end=last / fps,
                cut_start=(first - 0.5) / fps if first else 0.0,
                cut_end=(last - 0.5) / fps if k + 1 < len(firsts) else 0.0,
                frames=last - first,
            )
        )
    return ChunkPlan(chunk_seconds=float(per_chunk), end=end, chunks=chunks)


def first_segment(chunk: Chunk, ladder: ResolvedLadder) -> int:
    """The number of the chunk's first segment in the whole ladder."""
    return round(chunk.start / ladder.segment_seconds) if chunk.start else 0


def _video_only(ladder: ResolvedLadder) -> ResolvedLadder:
    rungs = [r.model_copy(update={"audio_group": ""}) for r in ladder.video]
    return ladder.model_copy(update={"video": rungs, "audio": []})


def _audio_only(ladder: ResolvedLadder) -> ResolvedLadder:
    return ladder.model_copy(update={"video": [], "fps": 0.0, "keyint": 0})


def ladder_chunk_command(
    source: str,
    info: MediaInfo,
    ladder: ResolvedLadder,
    chunk: Chunk,
    raw_dir: Path,
    *,
    video_preset: str = "medium",
    threads: int = 0,
) -> LadderCommand:
    """One FFmpeg run writing every video rung's segments of ``chunk`` into ``raw_dir``
    (``v{i}_{n}.ts|m4s``, ``n`` the segment's number in the whole ladder), from one decode.
    The ``streams`` are the video rungs only, their playlists list that chunk's segments."""
    if not ladder_chunkable(ladder):
        raise ValueError("this ladder is not chunked (ladder_chunkable)")
    seek = max(0, math.floor(chunk.cut_start - SEEK_MARGIN)) if chunk.cut_start else 0
    video = info.primary_video
    head = "[0:v:0]"
    if seek:
        head += f"setpts=PTS+{seek}/TB,"
    if video is not None and video.interlaced:
        head += "yadif=deint=interlaced,"
    bounds = []
    if chunk.cut_start:
        bounds.append(f"start={_num(chunk.cut_start)}")
    if chunk.cut_end:
        bounds.append(f"end={_num(chunk.cut_end)}")
    trim = f"trim={':'.join(bounds)}," if bounds else ""
    # A chunk's first frame is ``delta`` after its segment border when the frame grid misses
    # the border (29.97 fps); the ladder's keyframe grid counts from the border, as the
    # one-shot ladder's does from 0, so its IDRs land on the same frames.
    base = first_segment(chunk, ladder) * ladder.segment_seconds
    delta = max(0.0, chunk.start - base)
    pre = f"{head}fps={_num(ladder.fps)},{trim}setpts=PTS-STARTPTS[cv]"
    outputs = ladder_outputs(
        info,
        _video_only(ladder),
        raw_dir,
        video_input="[cv]",
        video_preset=video_preset,
        threads=threads,
    )
    args = ["-y", *input_thread_args(threads)]
    if seek:
        args += ["-ss", str(seek)]
    args += ["-i", source, "-filter_complex", ";".join([pre, *outputs.chains])]
    out_args = list(outputs.args)
    hls = ladder.format is LadderFormat.HLS
    if hls:
        out_args[-1:-1] = ["-start_number", str(first_segment(chunk, ladder))]
    else:
        # dash: no segment numbers to set (each chunk numbers its own files from 1, renamed
        # when published); absolute tfdt, as for HLS fMP4 below
        out_args[-1:-1] = ["-format_options", "movflags=+frag_discont"]
    out_args[-1:-1] = ["-output_ts_offset", _num(lead(ladder) + chunk.start)]
    if delta > 1e-6:
        seg = _num(ladder.segment_seconds)
        grid = f"expr:gte(t,n_forced*{seg})"
        out_args = [
            f"expr:gte(t+{_num(delta)},n_forced*{seg})" if a == grid else a for a in out_args
        ]
        # The hls muxer cuts at the first keyframe at least n x hls_time after the chunk's
        # first packet, which is ``delta`` after the border: shorten its step by ``delta``
        # so that the n-th threshold (border + n x SEG - (n - 1) x delta) is never after
        # the n-th border's IDR nor before the previous one (delta < one frame).
        if hls:  # (a DASH ladder is chunked only when its borders fall on frames)
            at = out_args.index("-hls_time") + 1
            out_args[at] = _num(ladder.segment_seconds - delta)
    if hls and not ladder.segment_type.is_ts:
        # fMP4: the mov muxer counts a fragment's tfdt from the track's first sample and puts
        # the offset in the init segment's edit list, which only the first chunk's init (the
        # one published) would carry; frag_discont writes the absolute decode time instead,
        # and every chunk's init is then the same bytes.
        out_args[-1:-1] = ["-hls_segment_options", "movflags=+frag_discont"]
    return replace(outputs.command, args=args + out_args, duration=chunk.duration)


def ladder_audio_command(
    source: str,
    info: MediaInfo,
    ladder: ResolvedLadder,
    raw_dir: Path,
    *,
    video_preset: str = "medium",
    threads: int = 0,
) -> LadderCommand | None:
    """The ladder's audio renditions, once over the whole source (``a{j}_{n}``); ``None``
    for a ladder without audio."""
    if not ladder.audio:
        return None
    if ladder.format is LadderFormat.HLS or not ladder.video:
        command = build_ladder_command(source, info, _audio_only(ladder), raw_dir, threads=threads)
        args = list(command.args)
        args[-1:-1] = ["-output_ts_offset", _num(LEAD)]
        return replace(command, args=args)
    # DASH: the dash muxer cuts the audio where the first video rung cuts (at its IDR's
    # place in the interleaved packets, i.e. its decode time), not every SEG seconds of
    # audio. So the audio run carries stand-in rungs: every rung's encoder and keyframe grid
    # (the same B-frame delay, the same decode times) over tiny black frames for the whole
    # timeline, whose representations are not published.
    fps = ladder.fps
    end = max(1, round((info.duration or 0.0) * fps)) / fps
    shadows = [
        r.model_copy(update={"width": SHADOW[0], "height": SHADOW[1], "fill_type": "stretch"})
        for r in ladder.video
    ]
    outputs = ladder_outputs(
        info,
        ladder.model_copy(update={"video": shadows}),
        raw_dir,
        video_input="[1:v:0]",
        video_preset=video_preset,  # the chunks' B-frames: the same decode times
        threads=threads,
    )
    black = f"color=c=black:s={SHADOW[0]}x{SHADOW[1]}:r={_num(fps)}:d={_num(end)}"
    args = ["-y", *input_thread_args(threads), "-i", source, "-f", "lavfi", "-i", black]
    args += ["-filter_complex", ";".join(outputs.chains), *outputs.args]
    audio = [s for s in outputs.command.streams if s.kind == "audio"]
    return replace(outputs.command, args=args, streams=audio)


def _merged_playlist(playlists: Sequence[Path], out: Path) -> None:
    """One raw media playlist listing the segments of ``playlists`` in order (absolute
    paths, each segment with its own chunk's init section)."""
    merged = m3u8.M3U8()
    merged.version = 7
    merged.target_duration = 1
    merged.playlist_type = "vod"
    merged.is_endlist = True
    for playlist in playlists:
        parsed = m3u8.loads(playlist.read_text())
        folder = playlist.parent
        for segment in parsed.segments:
            init = None
            if segment.init_section is not None:
                init = {"uri": str(folder / segment.init_section.uri)}
            merged.add_segment(
                m3u8.Segment(
                    uri=str(folder / segment.uri), duration=segment.duration, init_section=init
                )
            )
            merged.target_duration = max(merged.target_duration, math.ceil(segment.duration))
    out.write_text(str(merged.dumps()))


def publish_chunked_ladder(
    chunks: Sequence[LadderCommand],
    audio: LadderCommand | None,
    ladder: ResolvedLadder,
    out_dir: Path,
    names: PackageNames | None = None,
) -> LadderPackage:
    """After every chunk's command and the audio command ran: publish the package in
    ``out_dir`` (created) as the one-shot ladder would, from the chunks' segments in order
    (moved, never re-muxed). The raw folders are left to the caller."""
    if not chunks:
        raise ValueError("no chunk")
    merge_dir = out_dir.with_name(out_dir.name + ".merged")
    merge_dir.mkdir(parents=True, exist_ok=True)
    streams: list[RawStream] = []
    for i in range(len(ladder.video)):
        merged = merge_dir / f"v{i}.m3u8"
        _merged_playlist([c.streams[i].playlist for c in chunks], merged)
        streams.append(RawStream("video", i, merged))
    if audio is not None:
        streams += [s for s in audio.streams if s.kind == "audio"]
    mpd = None
    if ladder.format is not LadderFormat.HLS:
        mpd = merge_dir / "manifest.mpd"
        chunk_mpds = [c.mpd for c in chunks if c.mpd is not None]
        merge_mpd(chunk_mpds, audio.mpd if audio is not None else None, mpd)
    command = LadderCommand(
        args=[],
        raw_dir=merge_dir,
        streams=streams,
        mpd=mpd,
        duration=sum(c.duration for c in chunks),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _publish(command, ladder, out_dir, names or PackageNames())
    finally:
        for path in merge_dir.iterdir():
            path.unlink()
        merge_dir.rmdir()
