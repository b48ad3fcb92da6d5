from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from reelflow.errors import FFmpegFailed, FFmpegNotFound, FFmpegTimeout, JobCancelled
from reelflow.media.probe import probe
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner, ffmpeg_argv
from tests.clips import ClipCache

pytestmark = pytest.mark.integration

# A source that never ends on its own, paced to real time so runs last until stopped.
ENDLESS = ["-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "null", "-"]


def gone(pid: int) -> bool:
    """True when ``pid`` is no longer a live process (reaped, or a zombie of init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return all(gone(int(p.name)) for p in Path("/proc").iterdir() if _in_group(p, pgid))


def _in_group(proc_dir: Path, pgid: int) -> bool:
    if not proc_dir.name.isdigit():
        return False
    try:
        fields = (proc_dir / "stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return int(fields[2]) == pgid


def test_argv_prefix() -> None:
    assert ffmpeg_argv(Path("/bin/ffmpeg"), ["-i", "in.mp4", "out.mp4"]) == [
        "/bin/ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "level+info",
        "-progress",
        "pipe:1",
        "-i",
        "in.mp4",
        "out.mp4",
    ]


def test_encode_reports_progress_and_ends_done(
    ffmpeg_bin: Path, clips: ClipCache, tmp_path: Path
) -> None:
    source = clips(duration=3.0)
    out = tmp_path / "out.mp4"
    seen: list[Progress] = []
    result = FFmpegRunner(ffmpeg_bin).run(
        ["-i", str(source), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)],
        timeout=60,
        on_progress=seen.append,
    )
    assert result.returncode == 0 and result.elapsed > 0
    assert seen and seen[-1].done and not any(p.done for p in seen[:-1])
    assert seen[-1].out_time == pytest.approx(3.0, abs=0.1)
    assert seen[-1].frame == 75
    assert [p.out_time for p in seen] == sorted(p.out_time for p in seen)
    assert probe(out).duration == pytest.approx(3.0, abs=0.1)


def test_failure_names_the_cause(ffmpeg_bin: Path, clips: ClipCache, tmp_path: Path) -> None:
    source = clips()
    with pytest.raises(FFmpegFailed) as caught:
        FFmpegRunner(ffmpeg_bin).run(
            ["-i", str(source), "-c:v", "libx264", "-s", "3x3", str(tmp_path / "o.mp4")],
            timeout=60,
        )
    error = caught.value
    assert error.code == "FFmpegFailed" and not error.retryable
    # The root cause comes first, not just "Conversion failed!".
    assert "width not divisible by 2" in error.message
    assert error.message.startswith("FFmpeg exited with code ")
    assert "@ 0x" not in error.message  # addresses are noise to a reader
    assert "Conversion failed!" in error.stderr_tail
    assert len(error.stderr_tail.splitlines()) <= 50


def test_missing_input_file(ffmpeg_bin: Path, tmp_path: Path) -> None:
    with pytest.raises(FFmpegFailed, match="No such file or directory"):
        FFmpegRunner(ffmpeg_bin).run(
            ["-i", str(tmp_path / "nope.mp4"), "-f", "null", "-"], timeout=30
        )


def test_untagged_output_still_gives_a_message(ffmpeg_bin: Path, tmp_path: Path) -> None:
    """A command that sets its own -loglevel loses the level tags: use the last lines."""
    with pytest.raises(FFmpegFailed, match="No such file or directory"):
        FFmpegRunner(ffmpeg_bin).run(
            ["-loglevel", "error", "-i", str(tmp_path / "nope.mp4"), "-f", "null", "-"],
            timeout=30,
        )


def test_timeout_kills_the_child(ffmpeg_bin: Path) -> None:
    pids: list[int] = []
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout) as caught:
        FFmpegRunner(ffmpeg_bin).run(ENDLESS, timeout=1.0, on_start=pids.append)
    assert time.monotonic() - started < 10
    assert caught.value.retryable
    (pid,) = pids
    assert gone(pid) and group_gone(pid)


def test_cancel_from_another_thread(ffmpeg_bin: Path) -> None:
    cancel = threading.Event()
    pids: list[int] = []
    progress: list[Progress] = []
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    try:
        with pytest.raises(JobCancelled) as caught:
            FFmpegRunner(ffmpeg_bin).run(
                ENDLESS,
                timeout=60,
                cancel=cancel,
                on_progress=progress.append,
                on_start=pids.append,
            )
    finally:
        timer.cancel()
    assert caught.value.code == "Cancelled"
    assert progress  # it was running, not refused
    (pid,) = pids
    assert gone(pid) and group_gone(pid)


def test_a_raising_progress_callback_still_reaps_the_child(ffmpeg_bin: Path) -> None:
    pids: list[int] = []

    def explode(_: Progress) -> None:
        raise RuntimeError("callback bug")

    with pytest.raises(RuntimeError, match="callback bug"):
        FFmpegRunner(ffmpeg_bin).run(ENDLESS, timeout=60, on_progress=explode, on_start=pids.append)
    assert gone(pids[0])


def test_sigterm_is_escalated_and_the_whole_group_dies(tmp_path: Path) -> None:
    """A child that ignores SIGTERM and has a helper of its own: SIGKILL reaches both."""
    helper_pid = tmp_path / "helper.pid"
    stubborn = tmp_path / "stubborn-ffmpeg"
    stubborn.write_text(f"#!/bin/sh\ntrap '' TERM\nsleep 300 & echo $! > {helper_pid}\nwait\n")
    stubborn.chmod(0o755)
    pids: list[int] = []
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout):
        FFmpegRunner(stubborn, kill_grace=0.5).run([], timeout=0.5, on_start=pids.append)
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5  # the orphaned helper is reaped by init, not by us
    while not gone(int(helper_pid.read_text())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pids[0]) and gone(int(helper_pid.read_text())) and group_gone(pids[0])


def test_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(FFmpegNotFound):
        FFmpegRunner(tmp_path / "no-ffmpeg").run([], timeout=5)
