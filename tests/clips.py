"""Tiny media made on demand with FFmpeg's lavfi sources (never committed to the repo).

Every ``make_*`` function writes one file and returns its path. :class:`ClipCache` (the
``clips`` fixture) makes each distinct clip once per test session.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import os
import random
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelflow.media.ffmpeg import find_ffmpeg

_TIMEOUT = 60.0
_AUDIO_CODECS = {".mp3": "libmp3lame", ".webm": "libopus", ".ogg": "libopus",
                 ".opus": "libopus", ".wav": "pcm_s16le", ".mkv": "aac"}  # fmt: skip
_VIDEO_FAST = {
    "libx264": ["-preset", "ultrafast"],
    "libx265": ["-preset", "ultrafast", "-x265-params", "log-level=error"],
    "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8"],
}


def ffmpeg_binary() -> Path:
    return find_ffmpeg(os.environ.get("REELFLOW_FFMPEG", ""))


def run_ffmpeg(args: list[str], ffmpeg: Path | None = None) -> None:
    """Run FFmpeg quietly; raise with its stderr if it fails."""
    argv = [str(ffmpeg or ffmpeg_binary()), "-hide_banner", "-nostdin", "-loglevel", "error",
            "-y", *args]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{done.stderr.decode(errors='replace')}")


def make_clip(
    path: Path,
    *,
    duration: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int | str = 25,
    audio: bool = True,
    video: bool = True,
    vcodec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    interlaced: bool = False,
    vfr: bool = False,
    faststart: bool = False,
    color: tuple[str, str, str] | None = None,
    sample_rate: int = 48000,
    channels: int = 2,
    ffmpeg: Path | None = None,
) -> Path:
    """A ``testsrc2`` + ``sine`` clip; the container follows ``path``'s suffix.

    ``rotation`` is clockwise degrees, the convention of ``VideoStreamInfo.rotation``;
    it is stored as a display matrix (``-display_rotation`` is counter-clockwise, and
    ``-noautorotate`` keeps FFmpeg from turning the pixels instead). ``vfr`` drops every
    fifth frame and keeps the gaps; ``color`` is (primaries, transfer, matrix) tags.
    """
    if not (audio or video):
        raise ValueError("a clip needs audio or video")
    args: list[str] = []
    if video:
        if rotation:
            args += ["-noautorotate", "-display_rotation", str((-rotation) % 360)]
        source = f"testsrc2=size={width}x{height}:rate={fps}:duration={duration}"
        args += ["-f", "lavfi", "-i", source]
    if audio:
        tone = f"sine=frequency=440:sample_rate={sample_rate}:duration={duration}"
        args += ["-f", "lavfi", "-i", tone]
    if video:
        args += _video_args(vcodec, pix_fmt, interlaced=interlaced, vfr=vfr, color=color)
    if audio:
        args += ["-c:a", _AUDIO_CODECS.get(path.suffix, "aac"), "-ac", str(channels)]
    if faststart:
        args += ["-movflags", "+faststart"]
    args += ["-threads", "1", str(path)]
    run_ffmpeg(args, ffmpeg)
    return path


def _video_args(
    vcodec: str,
    pix_fmt: str,
    *,
    interlaced: bool,
    vfr: bool,
    color: tuple[str, str, str] | None,
) -> list[str]:
    args = ["-c:v", vcodec, *_VIDEO_FAST.get(vcodec, []), "-pix_fmt", pix_fmt]
    filters = []
    if vfr:
        filters.append(r"select='not(eq(mod(n\,5)\,2))'")
        args += ["-fps_mode", "vfr"]
    if interlaced:
        if vcodec != "libx264":
            raise ValueError("interlaced clips are made with libx264 only")
        filters.append("setfield=tff")
        args += ["-flags", "+ildct+ilme", "-x264-params", "interlaced=1:tff=1"]
    if color is not None:
        # FFmpeg 9 lets frame properties win over -color_* output options: tag the frames.
        primaries, transfer, matrix = color
        filters.append(f"setparams=color_primaries={primaries}:color_trc={transfer}"
                       f":colorspace={matrix}")  # fmt: skip
    if filters:
        args += ["-vf", ",".join(filters)]
    return args


def make_audio_only(
    path: Path,
    *,
    duration: float = 2.0,
    sample_rate: int = 48000,
    channels: int = 2,
    ffmpeg: Path | None = None,
) -> Path:
    return make_clip(path, duration=duration, video=False, sample_rate=sample_rate,
                     channels=channels, ffmpeg=ffmpeg)  # fmt: skip


def make_subtitles_only(path: Path, *, ffmpeg: Path | None = None) -> Path:
    """A Matroska file whose only stream is a subtitle track."""
    srt = path.with_suffix(".srt")
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n", encoding="utf-8")
    run_ffmpeg(["-i", str(srt), "-c:s", "srt", str(path)], ffmpeg)
    srt.unlink()
    return path


def make_zero_byte(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def make_text_as_mp4(path: Path) -> Path:
    path.write_text("this is a note, not a video\n" * 40, encoding="utf-8")
    return path


def make_random_bytes(path: Path, *, size: int = 64 * 1024, seed: int = 1) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def make_truncated_mp4(
    path: Path,
    *,
    keep: float = 0.6,
    faststart: bool = False,
    duration: float = 4.0,
    ffmpeg: Path | None = None,
) -> Path:
    """The first ``keep`` share of a normal MP4: without ``faststart`` the ``moov``
    index (written last) is lost; with it the index survives but data is missing."""
    whole = path.with_name(f"whole-{path.name}")
    make_clip(whole, duration=duration, faststart=faststart, ffmpeg=ffmpeg)
    data = whole.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    whole.unlink()
    return path


class ClipCache:
    """Makes each distinct clip once, in ``folder``; call it like :func:`make_clip`.

    ``clips(rotation=90)`` and ``clips.make(make_audio_only, ".m4a", channels=1)`` return
    the same path on every call with the same arguments.
    """

    def __init__(self, folder: Path, ffmpeg: Path) -> None:
        self.folder = folder
        self.ffmpeg = ffmpeg

    def __call__(self, suffix: str = ".mp4", **params: Any) -> Path:
        return self.make(make_clip, suffix, **params)

    def make(self, maker: Callable[..., Path], suffix: str = ".mp4", **params: Any) -> Path:
        key = repr((maker.__name__, suffix, sorted(params.items())))
        name = f"{maker.__name__}-{hashlib.sha1(key.encode()).hexdigest()[:12]}{suffix}"
        path = self.folder / name
        if not path.exists():
            if "ffmpeg" in inspect.signature(maker).parameters:
                params = {"ffmpeg": self.ffmpeg, **params}
            partial = path.with_name(f"partial-{name}")  # a failed make leaves no clip
            maker(partial, **params)
            partial.replace(path)
        return path


# A valid 1x1 transparent PNG, for watermark templates (their image is decoded on arrival).
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
)
TINY_PNG_B64 = base64.b64encode(TINY_PNG).decode()
