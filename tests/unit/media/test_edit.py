"""The clip-and-join commands (``reelflow.media.edit``) as argument lists: no FFmpeg."""

from __future__ import annotations

from pathlib import Path

from reelflow.media.edit import (
    Piece,
    build_copy_command,
    build_join_command,
    copy_compatible,
    target_of,
)
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo
from reelflow.specs.templates import AudioTemplate, VideoTemplate

H264 = VideoTemplate(codec="h264")
AAC = AudioTemplate(codec="aac")


def info(width: int = 320, height: int = 240, fps: float = 25.0, audio: bool = True) -> MediaInfo:
    video = VideoStreamInfo(
        index=0, codec="h264", width=width, height=height, rotation=0, fps=fps, fps_num=None,
        fps_den=None, pix_fmt="yuv420p", bitrate=None, duration=4.0, interlaced=False,
        frame_count=None,
    )  # fmt: skip
    sound = AudioStreamInfo(
        index=1, codec="aac", sample_rate=48000, channels=2, bitrate=None, duration=4.0
    )
    return MediaInfo(
        container="mp4", duration=4.0, size=None, bitrate=None, video=(video,),
        audio=(sound,) if audio else (),
    )  # fmt: skip


def test_a_piece_lasts_its_cut_bounded_by_its_input() -> None:
    assert Piece("a", info(), start=1.0, end=2.5).length == 1.5
    assert Piece("a", info(), start=1.0).length == 3.0
    assert Piece("a", info(), start=1.0, end=9.0).length == 3.0
    assert Piece("a", info(), start=5.0).length == 0.0


def test_join_cuts_each_input_and_gives_silence_to_one_without_audio(tmp_path: Path) -> None:
    pieces = [Piece("/a.mp4", info(), start=0.5, end=1.5), Piece("/b.mp4", info(audio=False))]
    command = build_join_command(pieces, target_of(pieces[0].info, H264, AAC), tmp_path)
    args = command.args
    assert args[:9] == ["-y", "-ss", "0.5", "-t", "1", "-i", "/a.mp4", "-t", "4"]
    graph = args[args.index("-filter_complex") + 1].split(";")
    assert graph[0].startswith("[0:v:0]fps=25,scale=320:240:")
    assert graph[1].startswith("[0:a:0]aresample=48000,")
    assert graph[3] == "anullsrc=r=48000:cl=stereo,atrim=duration=4,asetpts=PTS-STARTPTS[a1]"
    assert graph[4] == "[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]"
    assert command.duration == 5.0
    assert args[-1] == str(tmp_path / "edit.mp4")


def test_copy_needs_the_same_parameters_everywhere(tmp_path: Path) -> None:
    same = [Piece("/a.mp4", info()), Piece("/b's.mp4", info(), start=1.0, end=2.0)]
    assert copy_compatible(same)
    assert not copy_compatible([Piece("/a.mp4", info()), Piece("/b.mp4", info(fps=30.0))])
    assert not copy_compatible([Piece("/a.mp4", info()), Piece("/b.mp4", info(audio=False))])
    command = build_copy_command(same, tmp_path, "mp4")
    listing = command.files[tmp_path / "edit.ffconcat"].decode().splitlines()
    assert listing == [
        "ffconcat version 1.0",
        "file '/a.mp4'",
        "file '/b'\\''s.mp4'",
        "inpoint 1",
        "outpoint 2",
    ]
    assert "-c" in command.args and command.args[command.args.index("-c") + 1] == "copy"
