"""Clipping and joining (``reelflow.media.edit``) with real FFmpeg on tiny lavfi clips, read
back with PyAV: durations within one frame of the sum of the pieces, audio as long as the
video, the first input's size, rate and sample rate."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from reelflow.media.edit import (
    Piece,
    build_copy_command,
    build_join_command,
    copy_compatible,
    target_of,
)
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner
from reelflow.specs.templates import AudioTemplate, VideoTemplate
from tests.clips import ClipCache

pytestmark = pytest.mark.integration

H264 = VideoTemplate(codec="h264", preset="ultrafast")
AAC = AudioTemplate(codec="aac", bitrate=64)
FRAME = 1 / 25


def streams(path: Path) -> dict[str, float | int | str]:
    """What a user checks: each stream's decoded duration, the picture size and rate."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = [f.time for f in container.decode(video) if f.time is not None]
        container.seek(0)
        end = 0.0
        for frame in container.decode(audio):
            if frame.time is not None:
                end = max(end, frame.time + frame.samples / frame.sample_rate)
        return {
            "video": max(frames) + 1 / float(video.average_rate or 25),
            "frames": len(frames),
            "audio": end,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "fps": float(video.average_rate or 0),
            "rate": audio.codec_context.sample_rate,
            "vcodec": video.codec_context.name,
            "acodec": audio.codec_context.name,
        }


def run(ffmpeg_bin: Path, args: list[str], files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        path.write_bytes(data)
    FFmpegRunner(ffmpeg_bin).run(args, timeout=120)


def test_clips_of_different_shapes_join_in_sync(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    first = clips(duration=2.0, width=320, height=240, fps=25, sample_rate=48000)
    wide = clips(duration=3.0, width=640, height=360, fps=30, sample_rate=44100, channels=1)
    silent = clips(duration=1.5, width=160, height=120, fps=25, audio=False)
    pieces = [
        Piece(str(first), probe(first), start=0.5, end=1.5),
        Piece(str(wide), probe(wide)),
        Piece(str(silent), probe(silent), end=1.0),
    ]
    target = target_of(pieces[0].info, H264, AAC)
    assert not copy_compatible(pieces)
    command = build_join_command(pieces, target, tmp_path, video_preset="ultrafast")
    run(ffmpeg_bin, command.args, command.files)

    got = streams(command.output)
    expected = 1.0 + 3.0 + 1.0
    assert abs(got["video"] - expected) <= FRAME, got
    assert got["frames"] == round(expected * 25), got
    assert abs(got["audio"] - got["video"]) <= FRAME, got
    assert (got["width"], got["height"], got["fps"], got["rate"]) == (320, 240, 25.0, 48000)
    assert (got["vcodec"], got["acodec"]) == ("h264", "aac")


def test_a_template_size_wins_over_the_first_input(
    clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path
) -> None:
    clip = clips(duration=1.0, width=320, height=240)
    pieces = [Piece(str(clip), probe(clip)), Piece(str(clip), probe(clip))]
    video = VideoTemplate(codec="h265", height=180, fps=20, preset="ultrafast")
    target = target_of(pieces[0].info, video, AudioTemplate(codec="aac", sample_rate=44100))
    command = build_join_command(pieces, target, tmp_path, video_preset="ultrafast")
    run(ffmpeg_bin, command.args, command.files)
    got = streams(command.output)
    assert (got["width"], got["height"], got["fps"], got["rate"]) == (240, 180, 20.0, 44100)
    assert got["vcodec"] == "hevc"
    assert abs(got["video"] - 2.0) <= 1 / 20, got
    assert abs(got["audio"] - got["video"]) <= 1 / 20, got


def test_fast_joins_by_stream_copy(clips: ClipCache, ffmpeg_bin: Path, tmp_path: Path) -> None:
    a = clips(duration=2.0, width=320, height=240)
    b = clips(duration=1.0, width=320, height=240)
    pieces = [Piece(str(a), probe(a)), Piece(str(b), probe(b))]
    assert copy_compatible(pieces)
    command = build_copy_command(pieces, tmp_path, "mp4")
    run(ffmpeg_bin, command.args, command.files)
    got = streams(command.output)
    assert abs(got["video"] - 3.0) <= FRAME, got
    assert abs(got["audio"] - got["video"]) <= 2 * FRAME, got  # AAC frames at the seam
    assert (got["width"], got["height"], got["vcodec"]) == (320, 240, "h264")
