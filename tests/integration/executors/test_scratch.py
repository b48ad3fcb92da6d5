"""The scratch dir shared by the processes of one machine, with real processes: a folder
per process, FFmpeg children recorded while they run, and the startup sweep that cleans up
after dead processes only (never a live one's, nor a process that merely reuses a PID)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from reelflow.errors import JobCancelled
from reelflow.executors.scratch import Scratch, Swept, sweep
from reelflow.media.runner import FFmpegRunner
from tests.integration.media.test_parentdeath import wait_gone
from tests.integration.media.test_runner import ENDLESS, gone

pytestmark = pytest.mark.integration

HOST = socket.gethostname()

# An owner process: one job folder, and a child left running *without* the parent-death
# signal (what the sweep is the second line of defence for), recorded as the runner does.
OWNER = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from reelflow.executors.scratch import Scratch

    scratch = Scratch(Path(sys.argv[1]))
    work = scratch.dir / "job-1-x"
    work.mkdir(parents=True)
    (work / "part.mp4").write_bytes(b"x" * 1000)
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    scratch.add(child.pid, Path("sleep"))
    print(child.pid, flush=True)
    time.sleep(300)
    """
)


@pytest.fixture
def children() -> Iterator[list[int]]:
    """Pids of process groups a test left behind; killed after it (by pid, never by name)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if not gone(pid):
            os.killpg(pid, signal.SIGKILL)


def started(pid: int) -> int:
    return round(psutil.Process(pid).create_time() * 100)


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_dead_process_loses_its_folder_and_its_ffmpeg_a_live_one_keeps_them(
    tmp_path: Path, children: list[int]
) -> None:
    root = tmp_path / "scratch"
    argv = [sys.executable, "-c", OWNER, str(root)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) as owner:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        children.append(child)
        folder = root / f"{HOST}-{owner.pid}-{started(owner.pid)}"
        [record] = (folder / "ffmpeg").iterdir()
        assert json.loads(record.read_text()) == {
            "pid": child,
            "started": started(child),
            "binary": "sleep",
        }
        assert len(files(folder)) == 2  # the record and the job's file

        assert sweep(root) == Swept()  # the owner lives: nothing of it is touched
        assert not gone(child) and len(files(folder)) == 2

        owner.kill()
        owner.wait()
        assert not gone(child)  # no parent-death signal on this one: it outlived its owner
        assert sweep(root) == Swept(folders=1, killed=1)
    assert wait_gone(child, 2.0)
    assert not folder.exists()
    assert list(root.iterdir()) == []
    assert sweep(root) == Swept()  # again: nothing left to do


def test_an_unreaped_owner_is_dead(tmp_path: Path) -> None:
    # A SIGKILLed process stays a zombie until its parent waits for it; it runs no job.
    root = tmp_path / "scratch"
    with subprocess.Popen(["sleep", "300"]) as zombie:
        (root / f"{HOST}-{zombie.pid}-{started(zombie.pid)}" / "job-1-x").mkdir(parents=True)
        zombie.kill()
        deadline = time.monotonic() + 10
        while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the killed process did not die"
            time.sleep(0.01)
        assert sweep(root) == Swept(folders=1)
    assert list(root.iterdir()) == []


def test_a_reused_pid_does_not_keep_a_dead_owners_folder_nor_lose_its_own_group(
    tmp_path: Path,
) -> None:
    root = tmp_path / "scratch"
    me = os.getpid()
    # The dead owner had this test's pid, earlier: a live process with another start time.
    dead = root / f"{HOST}-{me}-{started(me) - 10_000}"
    (dead / "job-1-x").mkdir(parents=True)
    # Its FFmpeg's pid now belongs to another process (started later): not ours to kill.
    with subprocess.Popen(["sleep", "300"], start_new_session=True) as stranger:
        try:
            (dead / "ffmpeg").mkdir()
            started_then = started(stranger.pid) - 10_000
            record = {"pid": stranger.pid, "started": started_then, "binary": "sleep"}
            (dead / "ffmpeg" / str(stranger.pid)).write_text(json.dumps(record))

            assert sweep(root) == Swept(folders=1, killed=0)
            assert not dead.exists()
            assert stranger.poll() is None
        finally:
            stranger.kill()


def test_folders_of_other_machines_and_foreign_names_are_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    other_host = root / "other-host-1-100"  # pid 1 of another machine: not ours to judge
    legacy = root / "j-123-abcd"  # not an owner folder (an older layout): left for people
    for folder in (other_host, legacy):
        folder.mkdir(parents=True)
    assert sweep(root) == Swept()
    assert sorted(p.name for p in root.iterdir()) == ["j-123-abcd", "other-host-1-100"]
    assert sweep(tmp_path / "missing") == Swept()


def test_the_runner_records_its_ffmpeg_while_it_runs(ffmpeg_bin: Path, tmp_path: Path) -> None:
    scratch = Scratch(tmp_path / "scratch")
    runner = FFmpegRunner(ffmpeg_bin, records=scratch)
    cancel = threading.Event()
    seen: list[dict[str, object]] = []

    def on_progress(_: object) -> None:
        for record in (scratch.dir / "ffmpeg").iterdir():
            seen.append(json.loads(record.read_text()))
        cancel.set()

    pids: list[int] = []
    with pytest.raises(JobCancelled):
        runner.run(
            ENDLESS, timeout=60, on_progress=on_progress, cancel=cancel, on_start=pids.append
        )
    assert seen[0] == {"pid": pids[0], "started": seen[0]["started"], "binary": str(ffmpeg_bin)}
    assert list((scratch.dir / "ffmpeg").iterdir()) == []  # reaped, so forgotten
    assert sweep(scratch.root) == Swept()  # this process is alive: its folder stays
    assert scratch.dir.exists()
