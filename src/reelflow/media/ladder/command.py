"""A resolved ladder -> one FFmpeg command that decodes once and packages every rendition.

Pure: no I/O. Graph shape (N video rungs, M audio renditions)::

    [0:v:0] (yadif) fps=F, split=N [b0]..[bN-1]
    [bi] scale (pad) setsar format=yuv420p [vi]            -> video rung i, output stream i
    -map 0:a:0 (M times)                                    -> audio rendition j, stream N+j

Every video rung gets a closed GOP with an IDR at each multiple of the segment duration
(``-force_key_frames expr:gte(t,n_forced*SEG)``, no scene-cut keyframes, ``open_gop=0``;
x265 the same through ``-x265-params``), so segment boundaries line up across renditions.
Audio is encoded once per distinct setting and shared as an HLS rendition group / a DASH
audio adaptation set. FFmpeg's own muxers package: ``hls`` (``var_stream_map`` with
``agroup``) for HLS, ``dash`` for MPEG-DASH and CMAF; for those two its ``hls_playlist``
option also writes HLS playlists over the very same fMP4 segments, which CMAF publishes and
DASH uses only to list segments for measurement.

FFmpeg writes under internal names in ``raw_dir``; ``reelflow.media.ladder.package`` moves
the files to their published names while rewriting the manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from reelflow.media.encoders import (
    AUDIO_ENCODERS,
    VIDEO_ENCODERS,
    input_thread_args,
    output_thread_args,
)
from reelflow.specs.ladders import LadderFormat, ResolvedLadder, VideoRendition
from reelflow.specs.media import MediaInfo

RAW_MASTER = "master.m3u8"
RAW_MPD = "manifest.mpd"
_DEFAULT_CRF = {"h264": 23, "h265": 28}


@dataclass(frozen=True)
class RawStream:
    """One rendition as FFmpeg names it: ``playlist`` is its HLS media playlist in
    ``raw_dir``. ``index`` is its position in ``ladder.video`` or ``ladder.audio``."""

    kind: str  # "video" | "audio"
    index: int
    playlist: Path


@dataclass(frozen=True)
class LadderCommand:
    args: list[str]
    raw_dir: Path
    streams: list[RawStream]  # sub-stream order: video rungs, then audio renditions
    mpd: Path | None
    duration: float


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _scale(rung: VideoRendition, aspect: float) -> str:
    exact = abs(rung.width / rung.height - aspect) / aspect < 0.01
    if exact or rung.fill_type == "stretch":
        return f"scale={rung.width}:{rung.height}:flags=bicubic"
    color = "white" if rung.fill_type == "white" else "black"
    return (
        f"scale={rung.width}:{rung.height}:force_original_aspect_ratio=decrease:"
        f"force_divisible_by=2,pad={rung.width}:{rung.height}:(ow-iw)/2:(oh-ih)/2:color={color}"
    )


def _shape(ladder: ResolvedLadder) -> str:
    """Square pixels for HLS. A DASH adaptation set (DASH, CMAF) must have one picture
    aspect ratio, which rungs rounded to even sizes miss by a little (228x128 beside
    320x180): there every rung is displayed at the top rung's aspect ratio, its pixels
    made that little bit non-square, instead of the muxer refusing the whole ladder."""
    if ladder.format is LadderFormat.HLS or not ladder.video:
        return "setsar=1"
    top = max(ladder.video, key=lambda rung: rung.width * rung.height)
    if all(r.width * top.height == top.width * r.height for r in ladder.video):
        return "setsar=1"  # one aspect ratio already
    return f"setdar={top.width}/{top.height}"


def _video_args(ladder: ResolvedLadder, i: int, rung: VideoRendition, preset: str) -> list[str]:
    codec = rung.codec.value
    s = f":v:{i}"
    args = [f"-c{s}", VIDEO_ENCODERS[codec], f"-preset{s}", rung.preset or preset]
    if rung.bitrate and rung.capped_crf is not None:
        kbps = rung.bitrate  # a per-title rung: the probes' CRF, a cap well above its rate
        args += [f"-crf{s}", _num(rung.capped_crf), f"-maxrate{s}", f"{kbps * 2}k"]
        args += [f"-bufsize{s}", f"{kbps * 4}k"]
    elif rung.bitrate:
        kbps = rung.bitrate
        args += [f"-b{s}", f"{kbps}k", f"-maxrate{s}", f"{kbps * 3 // 2}k"]
        args += [f"-bufsize{s}", f"{kbps * 2}k"]
    else:
        args += [f"-crf{s}", str(rung.crf if rung.crf is not None else _DEFAULT_CRF[codec])]
    keyint = ladder.keyint
    segment = _num(ladder.segment_seconds)
    args += [f"-force_key_frames{s}", f"expr:gte(t,n_forced*{segment})"]
    if codec == "h264":
        args += [f"-profile{s}", "high", f"-g{s}", str(keyint), f"-sc_threshold{s}", "0"]
        args += [f"-x264-params{s}", "open_gop=0"]
    else:
        params = f"keyint={keyint}:min-keyint={keyint}:scenecut=0:open-gop=0:log-level=error"
        args += [f"-x265-params{s}", params]
        if not ladder.segment_type.is_ts:
            args += [f"-tag{s}", "hvc1"]  # the sample entry Apple players require in fMP4
    return args


@dataclass(frozen=True)
class LadderOutputs:
    """A ladder as part of an FFmpeg command: ``chains`` for its ``-filter_complex`` (fed by
    the video input label it was built for) and ``args``, its output file's options (maps,
    encoders, muxer) ending with the output. ``command`` keeps what packaging needs."""

    chains: list[str]
    args: list[str]
    command: LadderCommand


def ladder_outputs(
    info: MediaInfo,
    ladder: ResolvedLadder,
    raw_dir: Path,
    *,
    video_input: str = "[0:v:0]",
    deinterlace: bool = False,
    label: str = "",
    video_preset: str = "medium",
    threads: int = 0,
) -> LadderOutputs:
    """The ladder's filter chains and output arguments, to stand alone
    (:func:`build_ladder_command`) or beside other outputs of one command, decoding once
    (``reelflow.media.command``). ``video_input`` is the label of the frames it scales (the
    source's video, or a branch of a shared ``split``); ``label`` prefixes its own labels so
    that several ladders can share a graph. ``threads`` > 0 caps the threads of the
    ladder's encoders (``REELFLOW_FFMPEG_THREADS``)."""
    video = info.primary_video
    aspect = (video.display_width / video.display_height) if video else 1.0
    chains: list[str] = []
    maps: list[str] = []
    codec_args: list[str] = []
    n = len(ladder.video)
    if n:
        base = video_input + ("yadif=deint=interlaced," if deinterlace else "")
        branches = "".join(f"[{label}b{i}]" for i in range(n))
        chains.append(f"{base}fps={_num(ladder.fps)},split={n}{branches}")
        shape = _shape(ladder)
        for i, rung in enumerate(ladder.video):
            chains.append(
                f"[{label}b{i}]{_scale(rung, aspect)},{shape},format=yuv420p[{label}v{i}]"
            )
            maps += ["-map", f"[{label}v{i}]"]
            codec_args += _video_args(ladder, i, rung, video_preset)
    for j, audio in enumerate(ladder.audio):
        s = f":a:{j}"
        maps += ["-map", "0:a:0"]
        codec_args += [f"-c{s}", AUDIO_ENCODERS[audio.codec.value], f"-b{s}", f"{audio.bitrate}k"]
        codec_args += [f"-ar{s}", str(audio.sample_rate), f"-ac{s}", str(audio.channels)]
    if ladder.format is LadderFormat.HLS:
        muxer, streams, mpd = _hls_muxer(ladder, raw_dir)
    else:
        muxer, streams, mpd = _dash_muxer(ladder, raw_dir)
    args = [*maps, *codec_args, *output_thread_args(threads), "-map_metadata", "-1", "-sn", "-dn"]
    args += muxer
    command = LadderCommand(
        args=args, raw_dir=raw_dir, streams=streams, mpd=mpd, duration=info.duration or 0.0
    )
    return LadderOutputs(chains=chains, args=args, command=command)


def build_ladder_command(
    source: str,
    info: MediaInfo,
    ladder: ResolvedLadder,
    raw_dir: Path,
    *,
    video_preset: str = "medium",
    threads: int = 0,
) -> LadderCommand:
    """One FFmpeg invocation (arguments after the binary) writing the whole ladder;
    ``threads`` > 0 caps the whole process (``REELFLOW_FFMPEG_THREADS``)."""
    video = info.primary_video
    outputs = ladder_outputs(
        info,
        ladder,
        raw_dir,
        deinterlace=video is not None and video.interlaced,
        video_preset=video_preset,
        threads=threads,
    )
    args = ["-y", *input_thread_args(threads), "-i", source]
    if outputs.chains:
        args += ["-filter_complex", ";".join(outputs.chains)]
    return replace(outputs.command, args=args + outputs.args)


def _hls_muxer(ladder: ResolvedLadder, raw_dir: Path) -> tuple[list[str], list[RawStream], None]:
    segment_type = ladder.segment_type
    ext = "ts" if segment_type.is_ts else "m4s"
    entries: list[str] = []
    streams: list[RawStream] = []
    for i, rung in enumerate(ladder.video):
        group = f",agroup:{rung.audio_group}" if rung.audio_group else ""
        entries.append(f"v:{i}{group},name:v{i}")
        streams.append(RawStream("video", i, raw_dir / f"v{i}.m3u8"))
    for j, audio in enumerate(ladder.audio):
        group = "" if ladder.audio_only else f",agroup:{audio.group}"
        entries.append(f"a:{j}{group},name:a{j}")
        streams.append(RawStream("audio", j, raw_dir / f"a{j}.m3u8"))
    flags = "independent_segments"
    if segment_type.single_file:
        flags += "+single_file"
        segments = raw_dir / f"%v.{'ts' if segment_type.is_ts else 'mp4'}"
    else:
        segments = raw_dir / f"%v_%d.{ext}"
    args = [
        "-f", "hls",
        "-hls_time", _num(ladder.segment_seconds),
        "-hls_playlist_type", "vod",
        "-hls_flags", flags,
        "-hls_segment_type", "mpegts" if segment_type.is_ts else "fmp4",
    ]  # fmt: skip
    if not segment_type.is_ts and not segment_type.single_file:
        args += ["-hls_fmp4_init_filename", "%v_init.mp4"]
    args += [
        "-master_pl_name", RAW_MASTER,
        "-var_stream_map", " ".join(entries),
        "-hls_segment_filename", str(segments),
        str(raw_dir / "%v.m3u8"),
    ]  # fmt: skip
    return args, streams, None


def _dash_muxer(ladder: ResolvedLadder, raw_dir: Path) -> tuple[list[str], list[RawStream], Path]:
    n = len(ladder.video)
    streams = [RawStream("video", i, raw_dir / f"media_{i}.m3u8") for i in range(n)]
    streams += [
        RawStream("audio", j, raw_dir / f"media_{n + j}.m3u8") for j in range(len(ladder.audio))
    ]
    sets: list[str] = []
    if ladder.video:
        sets.append(f"id={len(sets)},streams=v")
    if ladder.audio:
        sets.append(f"id={len(sets)},streams=a")
    mpd = raw_dir / RAW_MPD
    args = [
        "-f", "dash",
        "-seg_duration", _num(ladder.segment_seconds),
        "-dash_segment_type", "mp4",
        "-use_template", "1",
        "-use_timeline", "1",
        "-hls_playlist", "1",
        "-hls_master_name", RAW_MASTER,
        "-adaptation_sets", " ".join(sets),
    ]  # fmt: skip
    if ladder.segment_type.single_file:
        args += ["-single_file", "1", "-single_file_name", "stream_$RepresentationID$.mp4"]
    else:
        args += [
            "-init_seg_name", "init_$RepresentationID$.m4s",
            "-media_seg_name", "seg_$RepresentationID$_$Number$.m4s",
        ]  # fmt: skip
    args.append(str(mpd))
    return args, streams, mpd
