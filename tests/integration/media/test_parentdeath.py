"""FFmpeg dies with the process that runs it, even when that process is SIGKILLed and
the run was started from a pool thread (as the local executor and Celery's pool do)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reelflow.media import parentdeath
from tests.integration.media.test_runner import ENDLESS, gone

pytestmark = pytest.mark.integration

# A process that runs one endless FFmpeg from a thread pool and prints its pid.
OWNER = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from reelflow.media.runner import FFmpegRunner

    runner = FFmpegRunner(Path(sys.argv[1]))
    started = lambda pid: print(pid, flush=True)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(runner.run, sys.argv[2:], timeout=300, on_start=started).result()
    """
)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_ffmpeg_dies_when_its_process_is_sigkilled(ffmpeg_bin: Path) -> None:
    argv = [sys.executable, "-c", OWNER, str(ffmpeg_bin), *ENDLESS]
    ffmpeg = 0
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) as owner:
        try:
            assert owner.stdout is not None
            ffmpeg = int(owner.stdout.readline())
            assert not gone(ffmpeg)
            # Its own session and group: nothing but the parent-death signal reaches it.
            assert os.getsid(ffmpeg) == ffmpeg
            owner.kill()
            assert owner.wait(timeout=10) == -signal.SIGKILL
            assert wait_gone(ffmpeg, 2.0), "FFmpeg outlived its SIGKILLed parent"
        finally:
            owner.kill()
            if ffmpeg and not gone(ffmpeg):
                os.killpg(ffmpeg, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_a_child_whose_parent_died_before_the_signal_was_armed_does_not_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The guard compares the parent at fork time with the child's parent after arming; a
    # parent that is not this process is what the child sees if its parent died in between.
    monkeypatch.setattr(parentdeath.os, "getpid", lambda: 1)
    arm = parentdeath.die_with_parent()
    monkeypatch.undo()
    marker = tmp_path / "ran"
    done = subprocess.run(["touch", str(marker)], preexec_fn=arm, check=False)
    assert done.returncode == 125
    assert not marker.exists()


def test_a_child_of_a_live_parent_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    arm = parentdeath.die_with_parent()
    done = subprocess.run(["touch", str(marker)], preexec_fn=arm, check=False)
    assert (done.returncode, marker.exists()) == (0, True)
