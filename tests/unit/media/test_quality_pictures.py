"""The worst moment's pictures (reelflow.media.quality_pictures): captured by the scoring
run (the graph's branches, the outputs' bound, picking the worst pair) or drawn by seeking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reelflow.media.quality import (
    QualityOptions,
    Rendition,
    build_quality_command,
    loopback_scoring,
)
from reelflow.media.quality_pictures import (
    CAPTURE_MAX_FRAMES,
    Capture,
    build_frames_command,
    captured_frames,
    discard_captures,
    frame_size,
)
from tests.unit.media.test_quality import graph, source

KEEP = r"select='lt(mod(n+1\,4)\,3)'"  # the frames around every 4th
MIDDLE = r"select='not(mod(n\,3))'"  # the scored ones among them
SMALL = "scale=960:540:flags=bicubic,setsar=1"  # the pictures' size for a 1080p source


def _images(args: list[str]) -> list[tuple[str, str]]:
    """(label, pattern) of each JPEG output of a command."""
    found = []
    for i, arg in enumerate(args):
        if arg == "image2":
            found.append((args[i - 10], args[i + 3]))
    return found


def test_scored_frames_are_captured_on_both_sides_and_the_source_shared() -> None:
    renditions = [
        Rendition(Path("/w/a.mp4"), 640, 360, fps=25),
        Rendition(Path("/w/b.mp4"), 1280, 720, fps=25),  # same range and rate as a
        Rendition(Path("/w/c.mp4"), 640, 360, fps=25, start=2.0, end=6.0),
    ]
    frames = Path("/w/f")
    cmd = build_quality_command("/in.mp4", source(), renditions, Path("/w"),
                                QualityOptions(4, 2), capture=frames)  # fmt: skip
    chains = graph(cmd.args)
    # The rendition's frames branch off before the upscale to the compared size; the
    # pictures' branch keeps the scored ones and goes straight to the pictures' size.
    assert f"[1:v:0]setpts=PTS-STARTPTS,fps=25,{KEEP},split=2[u0][c0]" in chains
    assert "[u0]scale=1920:1080:flags=bicubic,format=yuv420p,setsar=1,split=2[d0v][d0m]" in chains
    assert f"[c0]{MIDDLE},{SMALL}[j0]" in chains
    # The source's scored frames: once for a and b (same range, rate and subsampling), once
    # more for c (another range).
    assert f"[r0m]{MIDDLE},split=3[r0a][r0b][k0]" in chains
    assert f"[k0]{SMALL}[t0]" in chains
    assert f"[r1m]{MIDDLE},split=2[r1a][r1b]" in chains
    assert f"[r2m]{MIDDLE},split=3[r2a][r2b][k2]" in chains
    a, b, c = (logs.capture for logs in cmd.logs)
    assert a == Capture(frames, frames / "r0_%d.jpg", frames / "s0_%d.jpg", 4)
    assert b is not None and b.source == a.source and b.rendition == frames / "r1_%d.jpg"
    assert c is not None and c.source == frames / "s2_%d.jpg"
    assert _images(cmd.args) == [
        ("[j0]", "/w/f/r0_%d.jpg"), ("[t0]", "/w/f/s0_%d.jpg"), ("[j1]", "/w/f/r1_%d.jpg"),
        ("[j2]", "/w/f/r2_%d.jpg"), ("[t2]", "/w/f/s2_%d.jpg"),
    ]  # fmt: skip
    # One file per scored frame as it comes (no frame repeated into the gaps), bounded.
    at = cmd.args.index("/w/f/r0_%d.jpg")
    assert cmd.args[at - 14 : at] == [
        "-map", "[j0]", "-fps_mode", "passthrough", "-frames:v", str(CAPTURE_MAX_FRAMES),
        "-c:v", "mjpeg", "-q:v", "4", "-f", "image2", "-start_number", "0",
    ]  # fmt: skip
    # The scorers' own chains and logs are those of a run without captures.
    bare = build_quality_command("/in.mp4", source(), renditions, Path("/w"), QualityOptions(4, 2))
    assert [replace(logs, capture=None) for logs in cmd.logs] == bare.logs
    assert set(graph(bare.args)) - set(chains) == {
        f"[{i + 1}:v:0]setpts=PTS-STARTPTS,fps=25,{KEEP},scale=1920:1080:flags=bicubic,"
        f"format=yuv420p,setsar=1,split=2[d{i}v][d{i}m]"
        for i in range(3)
    } | {f"[r{i}m]{MIDDLE},split=2[r{i}a][r{i}b]" for i in (0, 2)}
    assert _images(bare.args) == []


def test_inside_the_encode_the_labels_are_prefixed() -> None:
    renditions = [Rendition(Path("/w/a.mp4"), 640, 360)]
    cmd = loopback_scoring(["-y", "-i", "/in.mp4", "/w/a.mp4"], source(), renditions, [(0, 0)],
                           Path("/w"), QualityOptions(4, 2), capture=Path("/w/f"))  # fmt: skip
    assert _images(cmd.args) == [("[qj0]", "/w/f/r0_%d.jpg"), ("[qt0]", "/w/f/s0_%d.jpg")]
    assert f"[dec:0]setpts=PTS-STARTPTS,fps=30000/1001,{KEEP},split=2[qu0][qc0]" in graph(cmd.args)


def test_captures_are_bounded() -> None:
    one = [Rendition(Path("/w/a.mp4"), 640, 360, fps=25)]
    frames = Path("/w/f")

    def captured(info: object, options: QualityOptions | None = None) -> bool:
        cmd = build_quality_command("/in.mp4", info, one, Path("/w"), options,  # type: ignore[arg-type]
                                    capture=frames)  # fmt: skip
        return cmd.logs[0].capture is not None and bool(_images(cmd.args))

    ten = source()  # 10 s: 250 frames at 25 fps
    assert captured(ten)  # auto: every 7th, 36 frames
    assert captured(ten, QualityOptions(subsample=3))  # 84 frames
    assert not captured(ten, QualityOptions(subsample=2))  # 125 frames
    assert not captured(ten, QualityOptions(subsample=1))
    # Every 29th frame at most: an hour has 3104 scored frames, drawn by seeking instead.
    assert not captured(replace(ten, duration=3600.0))
    assert captured(replace(ten, duration=29 * CAPTURE_MAX_FRAMES / 25 - 0.1))
    assert not captured(replace(ten, duration=None))  # a length unknown: no bound known


def test_the_worst_frame_s_captured_pair_is_picked_by_its_frame_number(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    capture = Capture(folder, folder / "r0_%d.jpg", folder / "s0_%d.jpg", 13, limit=3)
    for rank in range(3):
        for side in capture.files(rank):
            side.write_bytes(f"{side.name}".encode())
    out = (tmp_path / "worst0.jpg", tmp_path / "worst0-source.jpg")
    # Frame 26 (the third scored one) at 25 fps, and at NTSC's rate (times are rounded to
    # the millisecond in the score).
    assert captured_frames(capture, "25", 1.04, out) == out
    assert [p.read_text() for p in out] == ["r0_2.jpg", "s0_2.jpg"]
    assert captured_frames(capture, "30000/1001", round(26 * 1001 / 30000, 3), out) == out
    assert captured_frames(capture, "25", 0.52, out) == out
    assert out[0].read_text() == "r0_1.jpg"
    # Not a captured frame: frame 14 (a denser refinement's worst), frame 39 (past the
    # bound), a file FFmpeg did not write; nothing captured at all.
    assert captured_frames(capture, "25", 0.56, out) is None
    assert captured_frames(capture, "25", 1.56, out) is None
    (folder / "s0_1.jpg").unlink()
    assert captured_frames(capture, "25", 0.52, out) is None
    assert captured_frames(None, "25", 0.0, out) is None
    discard_captures([capture, None, capture])
    assert not folder.exists() and all(p.exists() for p in out)


def test_worst_moment_pictures_seek_both_sides_to_the_same_moment() -> None:
    # A 1080p source: both pictures at the compared size, capped at 960 wide.
    rendition = Rendition(Path("/w/a.mp4"), 640, 360, fps=25, start=2.0)
    args = build_frames_command(
        "/in.mov", source(), rendition, 1.5, (Path("/w/r.jpg"), Path("/w/s.jpg"))
    )
    assert args == [
        "-y",
        "-ss", "1.5", "-i", "/w/a.mp4",
        "-ss", "3.5", "-i", "/in.mov",  # the rendition starts 2 s into the source
        "-filter_complex", f"[0:v:0]{SMALL}[f0];[1:v:0]{SMALL}[f1]",
        "-map", "[f0]", "-frames:v", "1", "-q:v", "4", "/w/r.jpg",
        "-map", "[f1]", "-frames:v", "1", "-q:v", "4", "/w/s.jpg",
    ]  # fmt: skip
    # A portrait source shown upright, small enough to keep its size (odd sides made even).
    assert frame_size(source(width=641, height=361, rotation=90)) == (360, 640)
