"""FFmpeg argv for chunked encoding: one chunk's video, the whole audio, the join. Pure.

Chunk ``k`` of a rendition (``reelflow.specs.chunks.Chunk``)::

    -ss S -i SOURCE                       S: a whole second at least SEEK_MARGIN before the cut
    [0:v:0] setpts=PTS+S/TB               back on the one-shot's timeline (FFmpeg took S off)
            <the rendition's own chain>   fps, scale/pad, setsar, format, watermarks
            trim=start=CUT0:end=CUT1      exact output frames, cut halfway between two frames
            setpts=PTS-STARTPTS           the chunk file starts at 0
    -c:v <the rendition's encoder settings> -an  chunkK.mp4

The rendition's chain runs on frames carrying their one-shot timestamps, so ``fps`` picks
the same source frame for every output slot and a watermark's time window is the same;
cutting after it keeps exactly the one-shot's frames ``[start, end)``. The margin lets
``fps`` see the source frames before the cut (a frame-rate change fills a slot from an
earlier frame). Every chunk is a separate encode, so it starts with an IDR frame and its
GOPs are closed (x264/x265 open no GOP across a file's start).

Audio is encoded once, whole (``audio_command``); the join (``join_command``) reads the
chunk files with the concat demuxer, told each chunk's exact duration, and copies them
with the audio into the rendition's container.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reelflow.media.command import WorkFiles, fused_video_graph, muxer_args
from reelflow.media.encoders import (
    at_bitrate,
    audio_args,
    input_thread_args,
    output_thread_args,
    two_pass,
    video_args,
)
from reelflow.specs.chunks import Chunk, ChunkPlan
from reelflow.specs.media import MediaInfo
from reelflow.specs.works import TranscodeWork

# Seconds decoded before a chunk's cut: enough for ``fps`` to fill the first output slots
# from the frames the one-shot encode would use.
SEEK_MARGIN = 1.0
# Containers whose demuxer seeks on its index of keyframes, so that a keyframe seek lands
# on the planned keyframe (an MPEG-TS seek searches by timestamps and lands elsewhere:
# frames went missing, measured in docs/chunking.md).
KEYFRAME_SEEK_CONTAINERS = ("mov", "matroska")
# A one-pass chunk at a bitrate (after the first) gets START_BOOST_FACTOR times the rate
# on its first START_BOOST_SECONDS (x264 ``zones``, counted in output frames): x264's
# one-pass rate control starts low and the seconds after a seam dipped. Measured against
# the 2 s warm-up it replaces (an encode of the chunk's first 2 s left out by a copy: 2 s
# more encode per chunk): the seams as close to the one-shot encode, at no CPU
# (docs/chunking.md, "Rate control measured again"). x265 takes the same zones and dips
# alike; its one-pass rate control pays a zone back less, so less of a boost spends what
# the one-shot does (X265_START_BOOST_FACTOR; docs/chunking.md, "H.265").
START_BOOST_SECONDS = 0.5
START_BOOST_FACTOR = 3.0
X265_START_BOOST_FACTOR = 1.5
_BOOST_FACTORS = {"h264": START_BOOST_FACTOR, "h265": X265_START_BOOST_FACTOR}
# The difficulty probe of a chunk (``probe_command``): its frames this wide, encoded by x264
# at this preset and constant quality; the decoder skips its loop filter and the source's
# B-frames (half the probe's CPU, which is mostly the decode; the chunks' shares move by
# under 0.04). Measured against the share of the bits a one-shot encode gives each chunk
# (docs/chunking.md, "Rate control across chunks").
PROBE_WIDTH = 320
PROBE_PRESET = "ultrafast"
PROBE_CRF = 23
PROBE_DECODE = ("-skip_loop_filter", "all", "-skip_frame", "bidir")
# ... and encodes every other frame of the output rate (the 180 s bench clip: 8.4 -> 7.2 s
# of CPU for its six probes, every chunk's share the same within 0.01; a quarter of the
# rate moved them by up to 0.21).
PROBE_RATE = 0.5
# Chunk files: MP4 keeps the encoder's exact timestamps (Matroska would round them to ms).
CHUNK_SUFFIX = ".mp4"
AUDIO_SUFFIX = ".m4a"


@dataclass(frozen=True)
class ChunkCommand:
    """``runs``: the argv (after the binary) of each FFmpeg run, in order (a first pass,
    then the encode); ``files`` to write first (watermark images, text); ``duration``: the
    seconds of output, which progress ``out_time`` runs to in each run."""

    runs: list[list[str]]
    duration: float
    files: dict[Path, bytes] = field(default_factory=dict)


def chunkable(work: TranscodeWork) -> bool:
    """Whether a rendition can be encoded in chunks: it has video, is not clipped (its
    timeline is the source's) and is one file (an HLS rendition's segments would need
    their own join)."""
    return bool(work.width) and not (work.start or work.end) and work.template.container != "hls"


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def chunk_command(
    source: str,
    info: MediaInfo,
    work: TranscodeWork,
    chunk: Chunk,
    out: Path,
    *,
    work_dir: Path,
    video_preset: str = "medium",
    threads: int = 0,
    font_file: str = "",
    first_pass: bool = True,
    rate_factor: float = 1.0,
) -> ChunkCommand:
    """Encode the video of one chunk of ``work`` into ``out`` (an MP4, no audio)."""
    return fused_chunk_command(
        source,
        info,
        [work],
        chunk,
        [out],
        work_dir=work_dir,
        video_preset=video_preset,
        threads=threads,
        font_file=font_file,
        first_pass=first_pass,
        rate_factor=rate_factor,
    )


def fused_chunk_command(
    source: str,
    info: MediaInfo,
    works: Sequence[TranscodeWork],
    chunk: Chunk,
    outs: Sequence[Path],
    *,
    work_dir: Path,
    video_preset: str = "medium",
    threads: int = 0,
    font_file: str = "",
    first_pass: bool = True,
    rate_factor: float = 1.0,
) -> ChunkCommand:
    """Encode the video of one chunk of every rendition of ``works`` (sharing one chunk
    plan) from one decode, each into its ``outs`` file (an MP4, no audio).

    A rendition at a bitrate (``two_pass``) gets a first pass over the chunk (its stats in
    ``work_dir``), so that its rate control sees the whole chunk before it spends bits:
    a single pass restarts x264's VBV at each chunk and the seconds after a seam dip
    (docs/chunking.md). The first run makes only those renditions' stats; ``first_pass``
    False skips it (one pass for every rendition, the default): a bitrate rendition's
    chunk after the first then gets a higher rate on its first frames instead
    (``START_BOOST_SECONDS``, x264 ``zones``). H.265 at a bitrate takes one pass either
    way, with its own boost (x265 ``zones``, ``X265_START_BOOST_FACTOR``).

    ``rate_factor``: this chunk's share of the renditions at a VBR or ABR bitrate, from the
    difficulty of every chunk (``reelflow.media.chunks.rates``): their target times it,
    their peak and buffer unchanged.
    """
    if not works or len(works) != len(outs):
        raise ValueError(f"{len(outs)} outputs for {len(works)} works")
    for work in works:
        if not chunkable(work):
            raise ValueError(f"work {work.index} cannot be chunked")
    seek, exact = _seek(chunk, info)
    head = _head(chunk, seek)
    graph = fused_video_graph(info, works, work_dir, head=head, font_file=font_file)
    cut = _trim(chunk)
    trim = f"{cut}," if cut else ""
    twice = [n for n, w in enumerate(works) if first_pass and _two_pass(w)]
    boost = {}
    if chunk.cut_start:  # not the first chunk: one pass (no first pass asked, or H.265)
        boost = {n: _boost_zone(w, chunk) for n, w in enumerate(works) if n not in twice}
        boost = {n: zone for n, zone in boost.items() if zone}
    chains = [*graph.chains, *_cuts(graph.labels, trim)]
    inputs = ["-y", *input_thread_args(threads)]
    if seek:
        inputs += ["-ss", str(seek)] if exact else ["-noaccurate_seek", "-ss", str(seek)]
    inputs += ["-i", source, *graph.inputs]

    def encode(n: int, work: TranscodeWork) -> list[str]:
        template = work.template
        assert template.video_template is not None
        args = ["-map", f"[chunk{n}]", *output_thread_args(threads)]
        rate = video_args(
            template.video_template,
            fps=work.fps,
            preset=video_preset,
            container=template.container,
            rate_factor=rate_factor,
        )
        return args + (_with_zones(rate, boost[n]) if n in boost else rate)

    def passlog(work: TranscodeWork) -> list[str]:
        return ["-passlogfile", str(work_dir / f"chunk{chunk.index}-w{work.index}-pass")]

    runs = []
    if twice:
        # Pass 1 of the bitrate renditions only; the others' chains end in a null sink.
        first = list(chains)
        args: list[str] = []
        for n, work in enumerate(works):
            if n in twice:
                args += [*encode(n, work), "-pass", "1", *passlog(work)]
                args += ["-an", "-sn", "-dn", "-f", "null", os.devnull]
            else:
                first.append(f"[chunk{n}]nullsink")
        runs.append([*inputs, "-filter_complex", ";".join(first), *args])
    args = []
    for n, (work, out) in enumerate(zip(works, outs, strict=True)):
        args += encode(n, work)
        if n in twice:
            args += ["-pass", "2", *passlog(work)]
        args += ["-an", "-sn", "-dn", "-map_metadata", "-1", "-f", "mp4", str(out)]
    runs.append([*inputs, "-filter_complex", ";".join(chains), *args])
    return ChunkCommand(runs=runs, duration=chunk.duration, files=graph.files)


def probe_command(
    source: str, info: MediaInfo, chunk: Chunk, fps: float, out: Path, *, threads: int = 0
) -> list[str]:
    """Measure how hard chunk ``chunk`` is to encode (``reelflow.media.chunks.rates``): its
    frames at ``PROBE_RATE`` times the group's output rate ``fps`` (the source's with 0),
    cut as the chunk's encode cuts them, made small (``PROBE_WIDTH``) and encoded at a
    constant quality (x264 ``PROBE_PRESET``, ``PROBE_CRF``) into ``out``, a raw H.264 stream
    whose size per second is the difficulty. The decoder skips its loop filter and the
    B-frames (``PROBE_DECODE``): the probe needs the picture's content and motion, not every
    frame's last detail."""
    seek, exact = _seek(chunk, info)
    head = _head(chunk, seek)
    cut = _trim(chunk)
    chain = [head] if head else []
    chain += [f"fps={_num(fps * PROBE_RATE)}"] if fps else []
    chain += [cut, "setpts=PTS-STARTPTS"] if cut else []
    chain += [f"scale={PROBE_WIDTH}:-2", "format=yuv420p"]
    args = ["-y", *input_thread_args(threads), *PROBE_DECODE]
    if seek:
        args += ["-ss", str(seek)] if exact else ["-noaccurate_seek", "-ss", str(seek)]
    args += ["-i", source, "-map", "0:v:0", "-vf", ",".join(chain), *output_thread_args(threads)]
    args += ["-c:v", "libx264", "-preset", PROBE_PRESET, "-crf", str(PROBE_CRF)]
    return [*args, "-an", "-sn", "-dn", "-f", "h264", str(out)]


def _seek(chunk: Chunk, info: MediaInfo) -> tuple[int, bool]:
    """Where a chunk's decode starts: ``(seconds, exact)``. The plan's keyframe seek, from
    which the demuxer lands on the keyframe the chunk's first frame needs (FFmpeg's own
    accurate seek off: the head of the graph drops the frames before the margin), in a
    container whose demuxer seeks by its index (``KEYFRAME_SEEK_CONTAINERS``); else a
    whole second at least ``SEEK_MARGIN`` before the cut, with FFmpeg's accurate seek
    (it decodes from the keyframe before it and drops the frames before it)."""
    if not chunk.cut_start:
        return 0, True
    indexed = set(info.container.split(",")) & set(KEYFRAME_SEEK_CONTAINERS)
    if chunk.keyframe_seek is not None and indexed:
        return chunk.keyframe_seek, False
    return max(0, math.floor(chunk.cut_start - SEEK_MARGIN)), True


def _head(chunk: Chunk, seek: int) -> str:
    """The filters on the decoded frames: FFmpeg takes the seek off the timestamps, put
    them back first; then drop, before the renditions' filters, the frames decoded before
    the margin."""
    if not seek:
        return ""
    head = f"setpts=PTS+{seek}/TB"
    if chunk.cut_start > SEEK_MARGIN:
        head += f",trim=start={_num(chunk.cut_start - SEEK_MARGIN)}"
    return head


def _trim(chunk: Chunk) -> str:
    """The ``trim`` filter cutting a chunk's frames out of the decoded timeline; "" for a
    chunk that needs no cut (the whole source)."""
    bounds = [f"start={_num(chunk.cut_start)}"] if chunk.cut_start else []
    bounds += [f"end={_num(chunk.cut_end)}"] if chunk.cut_end else []
    return f"trim={':'.join(bounds)}" if bounds else ""


def _cuts(labels: Sequence[str], trim: str) -> list[str]:
    """Each rendition's chain cut to the chunk (``[chunkN]``), starting at 0."""
    return [f"[{label}]{trim}setpts=PTS-STARTPTS[chunk{n}]" for n, label in enumerate(labels)]


def _boost_zone(work: TranscodeWork, chunk: Chunk) -> str:
    """The x264/x265 zone raising the rate of a one-pass chunk's first frames
    (``START_BOOST_SECONDS`` at a constant output rate, within the chunk); "" for a
    rendition without one: not H.264 or H.265 at a bitrate (both encoders take the same
    ``zones``, and their one-pass rate control restarts in each chunk alike), or keeping the
    source's timestamps (no frame rate to count them in)."""
    video = work.template.video_template
    factor = _BOOST_FACTORS.get(video.codec.value) if video is not None else None
    if factor is None or video is None or not at_bitrate(video) or not work.fps:
        return ""
    last = min(round(START_BOOST_SECONDS * work.fps), chunk.frames - 1)
    return f"0,{last},b={_num(factor)}" if last >= 0 else ""


def _with_zones(args: list[str], zone: str) -> list[str]:
    """The encoder arguments ``args`` with ``zones=zone`` added to its private options
    (``-x265-params`` always has some, x264's CBR sets ``-x264-params``)."""
    key = "-x265-params" if "-x265-params" in args else "-x264-params"
    if key not in args:
        return [*args, key, f"zones={zone}"]
    at = args.index(key) + 1
    return [*args[:at], f"{args[at]}:zones={zone}", *args[at + 1 :]]


def _two_pass(work: TranscodeWork) -> bool:
    video = work.template.video_template
    return video is not None and two_pass(video)


def audio_command(
    source: str, info: MediaInfo, work: TranscodeWork, out: Path, *, threads: int = 0
) -> list[str] | None:
    """Encode the rendition's audio once, over the whole source, into ``out`` (an MP4
    audio file); ``None`` when the rendition has none."""
    template = work.template
    if template.remove_audio or not info.has_audio:
        return None
    assert template.audio_template is not None
    args = ["-y", *input_thread_args(threads), "-i", source, "-vn", "-map", "0:a:0"]
    args += [*output_thread_args(threads), *audio_args(template.audio_template)]
    return [*args, "-sn", "-dn", "-map_metadata", "-1", "-f", "mp4", str(out)]


def concat_list(plan: ChunkPlan, files: Sequence[Path]) -> str:
    """The concat demuxer's script: each chunk file with its exact duration (the time from
    its first frame to the next chunk's), so the joined timestamps are the one-shot's."""
    if len(files) != len(plan.chunks):
        raise ValueError(f"{len(files)} chunk files for {len(plan.chunks)} chunks")
    lines = ["ffconcat version 1.0"]
    for chunk, path in zip(plan.chunks, files, strict=True):
        quoted = str(path).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
        lines.append(f"duration {_num(chunk.duration)}")
    return "\n".join(lines) + "\n"


def join_command(
    work: TranscodeWork,
    concat: Path,
    audio: Path | None,
    out: Path,
    *,
    threads: int = 0,
    audio_start: float = 0.0,
) -> list[str]:
    """Join the chunk files listed in ``concat`` by stream copy and mux ``audio`` (the
    whole-source audio, if any) into ``out``, in the rendition's container.

    ``audio_start``: where the audio file's first sample is on the one-shot's timeline (a
    source whose audio starts after its video); FFmpeg takes each input's own start off its
    timestamps, so it is put back with ``-itsoffset``."""
    args = ["-y", "-f", "concat", "-safe", "0", "-i", str(concat)]
    if audio is not None:
        if audio_start:
            args += ["-itsoffset", _num(audio_start)]
        args += ["-i", str(audio)]
    args += ["-map", "0:v:0"]
    if audio is not None:
        args += ["-map", "1:a:0"]
    args += ["-c", "copy", *output_thread_args(threads), "-map_metadata", "-1"]
    args += [*muxer_args(work, WorkFiles(main=out)), str(out)]
    return args


__all__ = [
    "AUDIO_SUFFIX",
    "CHUNK_SUFFIX",
    "KEYFRAME_SEEK_CONTAINERS",
    "PROBE_CRF",
    "PROBE_PRESET",
    "PROBE_WIDTH",
    "SEEK_MARGIN",
    "START_BOOST_FACTOR",
    "START_BOOST_SECONDS",
    "X265_START_BOOST_FACTOR",
    "ChunkCommand",
    "audio_command",
    "chunk_command",
    "chunkable",
    "concat_list",
    "fused_chunk_command",
    "join_command",
    "probe_command",
]
