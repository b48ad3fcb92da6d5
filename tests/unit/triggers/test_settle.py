"""A copied file is ready once its size and mtime stop changing for the settle time."""

from __future__ import annotations

import os
from pathlib import Path

from reelflow.triggers.settle import Settler


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_growing_file_waits_until_it_stops(tmp_path: Path) -> None:
    clock = Clock()
    settler = Settler(2.0, clock=clock)
    path = tmp_path / "a.mp4"
    path.write_bytes(b"x")
    settler.add(path)

    clock.now += 1.5
    assert settler.ready() == []
    with path.open("ab") as handle:
        handle.write(b"more")  # still being copied: the clock starts again
    clock.now += 1.5
    assert settler.ready() == []
    clock.now += 2.0
    assert settler.ready() == [path]
    assert settler.ready() == []  # handed out once
    assert len(settler) == 0


def test_a_touched_file_restarts_the_wait(tmp_path: Path) -> None:
    clock = Clock()
    settler = Settler(1.0, clock=clock)
    path = tmp_path / "a.mp4"
    path.write_bytes(b"x")
    settler.add(path)
    clock.now += 0.9
    os.utime(path, ns=(1, 1))
    assert settler.ready() == []
    clock.now += 1.0
    assert settler.ready() == [path]


def test_vanished_and_non_regular_files_are_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    settler = Settler(1.0, clock=clock)
    gone = tmp_path / ".rsync-tmp"
    gone.write_bytes(b"x")
    settler.add(gone)
    gone.unlink()
    settler.add(tmp_path)  # a folder is not a file
    clock.now += 5
    assert settler.ready() == []
    assert len(settler) == 0
