"""The worst moment's pictures of a scored rendition: its lowest-scoring frame and the
source's frame at the same moment, two JPEGs at the size they were compared at (at most
``FRAME_MAX_WIDTH`` wide).

Two ways to draw them, the first preferred:

- **captured by the scoring run**: :func:`capture_chains` adds to the scorers' graph (see
  ``reelflow.media.quality``) a branch that writes every scored frame of a rendition, and of
  the source at the same moment, as small JPEGs (the image2 muxer, numbered in scored
  order), from the frames the scorers already decode; once the scores are read,
  :func:`captured_frames` keeps the pair of the worst frame and :func:`discard_captures`
  deletes the rest. No second decode: the pictures cost a downscale and a JPEG per scored
  frame, about ``AUTO_SCORED_FRAMES`` per rendition (bounded by ``CAPTURE_MAX_FRAMES``);
- **drawn by seeking** (:func:`extract_frames`): one more FFmpeg run per rendition seeks
  exactly to the moment on both sides, decoding from the keyframe before it on each (one
  GOP: up to seconds of CPU at 1080p). Used when the worst frame was not captured: a
  score refined on more frames (``refine_subsample``) found a worse one, a rendition with
  more scored frames than the bound, or a scoring run without captures.

Both draw the same frame: the rendition's frame ``time * rate`` (``rate`` the rate it was
compared at), upscaled (bicubic) straight from its coded size, and the source's frame at
``start + time``.
"""

from __future__ import annotations

import math
import shutil
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from reelflow.errors import InvalidMedia
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.media import MediaInfo

if TYPE_CHECKING:
    from reelflow.media.quality import Rendition

FRAME_MAX_WIDTH = 960  # the worst-moment pictures: enough to see the damage, a few dozen KB
# A rendition's scored frames are captured only when there are at most this many (both
# sides: 2 x 120 JPEGs of at most 960 wide, tens of KB each, a few MB per rendition on the
# scratch disk, and about a hundred downscales and JPEGs of CPU). The default subsampling
# scores about 40 (AUTO_SCORED_FRAMES) until every 29th frame is reached, so this covers a
# title of up to 29 x 120 frames (2 min 19 s at 25 fps); a longer one is drawn by seeking,
# whose cost (one GOP on each side) does not grow with the title while its encode does.
CAPTURE_MAX_FRAMES = 120
JPEG_QUALITY = "4"  # mjpeg's -q:v (2 best .. 31 worst)


def frame_size(info: MediaInfo) -> tuple[int, int]:
    """The size both worst-moment pictures are drawn at: the source's display size (what
    the rendition was compared at), at most ``FRAME_MAX_WIDTH`` wide, even."""
    video = info.primary_video
    if video is None:
        raise InvalidMedia("the source has no video stream")
    width, height = video.display_width, video.display_height
    if width > FRAME_MAX_WIDTH:
        width, height = FRAME_MAX_WIDTH, round(height * FRAME_MAX_WIDTH / width)
    return width - width % 2, height - height % 2


def _scale(info: MediaInfo) -> str:
    width, height = frame_size(info)
    return f"scale={width}:{height}:flags=bicubic,setsar=1"


@dataclass(frozen=True, slots=True)
class Capture:
    """Where a scoring run writes one rendition's scored frames: ``rendition`` and
    ``source`` are image2 patterns (``%d``: the scored frame's rank from 0; scored frame k
    is the rendition's frame k x ``every``), each side at most ``limit`` files. ``source``
    may be another rendition's (renditions compared over the same range at the same rate
    and subsampling share the source's frames). ``folder`` holds them all."""

    folder: Path
    rendition: Path
    source: Path
    every: int
    limit: int = CAPTURE_MAX_FRAMES

    def files(self, rank: int) -> tuple[Path, Path]:
        """The two JPEGs of scored frame ``rank`` (rendition, source)."""
        number = str(rank)
        return (
            self.rendition.with_name(self.rendition.name.replace("%d", number)),
            self.source.with_name(self.source.name.replace("%d", number)),
        )


def capturable(seconds: float, rate: str, every: int) -> bool:
    """Whether a rendition scored on every ``every``-th frame over ``seconds`` at ``rate``
    has its scored frames captured: a known length, and at most ``CAPTURE_MAX_FRAMES``."""
    return seconds > 0 and math.ceil(seconds * float(Fraction(rate)) / every) <= CAPTURE_MAX_FRAMES


def capture_chain(info: MediaInfo, inlet: str, outlet: str) -> str:
    """The chain from ``inlet`` (scored frames, at the rendition's coded size or the
    source's) to ``outlet``: the pictures' size (bicubic, as :func:`build_frames_command`)."""
    return f"{inlet}{_scale(info)}{outlet}"


def capture_output(label: str, pattern: Path, limit: int = CAPTURE_MAX_FRAMES) -> list[str]:
    """The output writing the frames at ``label`` as JPEGs ``pattern`` (``%d`` from 0), one
    file per frame as it comes (``passthrough``: no frame repeated to fill the gaps between
    the scored ones), never more than ``limit``."""
    return [
        "-map", label, "-fps_mode", "passthrough", "-frames:v", str(limit),
        "-c:v", "mjpeg", "-q:v", JPEG_QUALITY, "-f", "image2", "-start_number", "0",
        str(pattern),
    ]  # fmt: skip


def captured_frames(
    capture: Capture | None, rate: str, time: float, out: tuple[Path, Path]
) -> tuple[Path, Path] | None:
    """The captured pictures of the rendition's frame at ``time`` (seconds from its start,
    compared at ``rate``) copied to ``out`` (rendition, source); ``None`` when that frame was
    not captured (not a scored frame of the capture, past its bound, or not written)."""
    if capture is None:
        return None
    rank, rest = divmod(round(time * float(Fraction(rate))), capture.every)
    if rest or rank >= capture.limit:
        return None
    found = capture.files(rank)
    try:
        if not all(p.stat().st_size > 0 for p in found):
            return None
        for path, dest in zip(found, out, strict=True):
            shutil.copyfile(path, dest)
    except OSError:
        return None
    return out


def discard_captures(captures: list[Capture | None]) -> None:
    """Delete what the scoring run captured (the pictures kept were copied out)."""
    for folder in {c.folder for c in captures if c is not None}:
        shutil.rmtree(folder, ignore_errors=True)  # scratch: the job's folder goes anyway


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def build_frames_command(
    source: str, info: MediaInfo, rendition: Rendition, time: float, out: tuple[Path, Path]
) -> list[str]:
    """Arguments writing the rendition's frame at ``time`` (seconds from its start) and the
    source's at the same moment (``rendition.start + time``) as two JPEGs ``out`` (rendition,
    source), both upscaled (bicubic) to :func:`frame_size`, as they were compared. ``-ss``
    before each input seeks exactly (decoding from the keyframe before it)."""
    scale = _scale(info)
    return [
        "-y",
        "-ss", _num(time), "-i", str(rendition.path),
        "-ss", _num(rendition.start + time), "-i", source,
        "-filter_complex", f"[0:v:0]{scale}[f0];[1:v:0]{scale}[f1]",
        "-map", "[f0]", "-frames:v", "1", "-q:v", JPEG_QUALITY, str(out[0]),
        "-map", "[f1]", "-frames:v", "1", "-q:v", JPEG_QUALITY, str(out[1]),
    ]  # fmt: skip


def extract_frames(
    runner: FFmpegRunner,
    source: str,
    info: MediaInfo,
    rendition: Rendition,
    time: float,
    out: tuple[Path, Path],
    *,
    timeout: float,
    cancel: threading.Event | None = None,
) -> tuple[Path, Path]:
    """Write the two pictures of :func:`build_frames_command`; returns ``out``.

    Raises:
        FFmpegFailed, FFmpegTimeout, JobCancelled: from the runner.
        InvalidMedia: FFmpeg wrote no picture (``time`` past the end of a side).
    """
    runner.run(build_frames_command(source, info, rendition, time, out), timeout=timeout,
               cancel=cancel)  # fmt: skip
    for path in out:
        if not path.exists() or path.stat().st_size == 0:
            raise InvalidMedia(f"no frame at {time:.3f} s to draw")
    return out
