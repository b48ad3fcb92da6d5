"""Clip and join several inputs into one file (the compatible API's ``EditMedia``).

Pure: no I/O. Two commands:

- :func:`build_join_command` re-encodes with the ``concat`` filter. Every piece is cut
  (``-ss``/``-t`` on its input: frame-accurate, since FFmpeg decodes from the keyframe
  before), normalised to the target's size (scaled to fit, padded), frame rate, pixel format,
  sample rate and channel layout, and its audio padded or cut to the piece's length, so the
  joined audio stays in sync; a piece without audio gets silence of its length. Graph::

      [i:v:0] fps scale pad setsar format trim=duration=D setpts      [vi]
      [i:a:0] aresample aformat apad atrim=duration=D asetpts         [ai]
      (no audio: anullsrc atrim=duration=D                            [ai])
      [v0][a0][v1][a1]... concat=n=N:v=1:a=1                          [v][a]

- :func:`build_copy_command` stream-copies with the ``concat`` demuxer (``Fast``): the cut
  points snap to keyframes; only when :func:`copy_compatible` says every piece shares its
  codecs and parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reelflow.media.encoders import FASTSTART, MUXERS, audio_args, hls_seconds, video_args
from reelflow.specs.media import MediaInfo
from reelflow.specs.templates import AudioTemplate, VideoTemplate


@dataclass(frozen=True)
class Piece:
    """One input: a local file, its probe, and the part kept (``end`` 0: to its end)."""

    path: str
    info: MediaInfo
    start: float = 0.0
    end: float = 0.0

    @property
    def length(self) -> float:
        """Seconds this piece lasts in the output."""
        whole = self.info.duration or 0.0
        end = min(self.end, whole) if self.end and whole else (self.end or whole)
        return max(end - self.start, 0.0)


@dataclass(frozen=True)
class JoinTarget:
    """What every piece is normalised to, and how the result is encoded."""

    width: int
    height: int
    fps: float
    sample_rate: int
    channels: int
    video: VideoTemplate
    audio: AudioTemplate
    container: str = "mp4"


@dataclass(frozen=True)
class EditCommand:
    args: list[str]
    output: Path
    duration: float  # seconds of output, for progress
    files: dict[Path, bytes]


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def target_of(
    first: MediaInfo, video: VideoTemplate, audio: AudioTemplate, container: str = "mp4"
) -> JoinTarget:
    """The first input's size, frame rate, sample rate and channels (the vendor's rule: a
    join is re-encoded to the first input's parameters); a template's non-zero fields win."""
    stream = first.primary_video
    width = video.width or (stream.display_width if stream else 0)
    height = video.height or (stream.display_height if stream else 0)
    if stream and video.width and not video.height:
        height = round(video.width * stream.display_height / stream.display_width / 2) * 2
    if stream and video.height and not video.width:
        width = round(video.height * stream.display_width / stream.display_height / 2) * 2
    fps = float(video.fps) if video.fps else ((stream.fps or 25.0) if stream else 25.0)
    sound = first.primary_audio
    rate = audio.sample_rate or (sound.sample_rate if sound else 44100)
    channels: int = audio.audio_channel or (min(sound.channels, 2) if sound else 2)
    return JoinTarget(
        width=width - width % 2,
        height=height - height % 2,
        fps=round(fps, 3),
        sample_rate=rate,
        channels=channels,
        video=video,
        audio=audio,
        container=container,
    )


def build_join_command(
    pieces: Sequence[Piece],
    target: JoinTarget,
    work_dir: Path,
    *,
    video_preset: str = "medium",
) -> EditCommand:
    """Arguments after the binary re-encoding ``pieces`` into one file of ``target``."""
    args = ["-y"]
    chains: list[str] = []
    joined = ""
    layout = "mono" if target.channels == 1 else "stereo"
    w, h = target.width, target.height
    for i, piece in enumerate(pieces):
        length = _num(piece.length)
        if piece.start:
            args += ["-ss", _num(piece.start)]
        args += ["-t", length, "-i", piece.path]
        chains.append(
            f"[{i}:v:0]fps={_num(target.fps)},"
            f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,"
            f"trim=duration={length},setpts=PTS-STARTPTS[v{i}]"
        )
        if piece.info.has_audio:
            chains.append(
                f"[{i}:a:0]aresample={target.sample_rate},"
                f"aformat=sample_fmts=fltp:channel_layouts={layout},apad,"
                f"atrim=duration={length},asetpts=PTS-STARTPTS[a{i}]"
            )
        else:
            chains.append(
                f"anullsrc=r={target.sample_rate}:cl={layout},"
                f"atrim=duration={length},asetpts=PTS-STARTPTS[a{i}]"
            )
        joined += f"[v{i}][a{i}]"
    chains.append(f"{joined}concat=n={len(pieces)}:v=1:a=1[v][a]")
    output = work_dir / f"edit.{_ext(target.container)}"
    args += ["-filter_complex", ";".join(chains), "-map", "[v]", "-map", "[a]"]
    args += video_args(
        target.video, fps=target.fps, preset=video_preset, container=target.container
    )
    args += audio_args(target.audio)
    args += ["-map_metadata", "-1", *_muxer(target.container, work_dir, target.video)]
    args.append(str(output))
    total = sum(piece.length for piece in pieces)
    return EditCommand(args=args, output=output, duration=total, files={})


def _ext(container: str) -> str:
    return "m3u8" if container == "hls" else container


def _muxer(container: str, work_dir: Path, video: VideoTemplate | None = None) -> list[str]:
    args = ["-f", MUXERS[container]]
    if container in FASTSTART:
        args += ["-movflags", "+faststart"]
    if container == "hls":  # a VOD playlist of TS segments (:data:`HLS_SEGMENTS`)
        args += ["-hls_time", str(hls_seconds(video)), "-hls_playlist_type", "vod"]
        args += ["-hls_segment_filename", str(work_dir / HLS_SEGMENTS)]
    return args


HLS_SEGMENTS = "edit_%d.ts"
"""The local names of an HLS join's segments, beside ``edit.m3u8``."""


def copy_compatible(pieces: Sequence[Piece]) -> bool:
    """Whether every piece has the same streams, codecs and parameters as the first (so the
    concat demuxer can join them by stream copy)."""

    def signature(info: MediaInfo) -> tuple[object, ...]:
        v, a = info.primary_video, info.primary_audio
        return (
            None if v is None else (v.codec, v.width, v.height, v.pix_fmt, v.fps, v.rotation),
            None if a is None else (a.codec, a.sample_rate, a.channels),
            len(info.video),
            len(info.audio),
        )

    first = signature(pieces[0].info)
    return first[0] is not None and all(signature(p.info) == first for p in pieces[1:])


def _quoted(path: str) -> str:
    return "'" + path.replace("'", "'\\''") + "'"


def build_copy_command(pieces: Sequence[Piece], work_dir: Path, container: str) -> EditCommand:
    """Arguments after the binary joining ``pieces`` by stream copy (the ``concat`` demuxer
    with ``inpoint``/``outpoint``: cuts land on the keyframe at or before each point)."""
    lines = ["ffconcat version 1.0"]
    for piece in pieces:
        lines.append(f"file {_quoted(piece.path)}")
        if piece.start:
            lines.append(f"inpoint {_num(piece.start)}")
        if piece.end:
            lines.append(f"outpoint {_num(piece.end)}")
    listing = work_dir / "edit.ffconcat"
    output = work_dir / f"edit.{_ext(container)}"
    args = ["-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
    args += ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-map_metadata", "-1"]
    args += [*_muxer(container, work_dir), str(output)]
    total = sum(piece.length for piece in pieces)
    files = {listing: ("\n".join(lines) + "\n").encode()}
    return EditCommand(args=args, output=output, duration=total, files=files)


__all__ = [
    "HLS_SEGMENTS",
    "EditCommand",
    "JoinTarget",
    "Piece",
    "build_copy_command",
    "build_join_command",
    "copy_compatible",
    "target_of",
]
