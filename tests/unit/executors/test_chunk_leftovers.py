"""Removing a chunked group's leftover parts (``remove_parts``: the scheduler's pass over
failed and cancelled groups): exactly one generation's parts, from a bucket (paged past a
listing's limit) or the scratch root; idempotent; never outside the parts' places."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.executors.chunks import SCRATCH_FOLDER, remove_parts
from reelflow.executors.jobs import JobRuntime
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry


def runtime_with(bucket: MemoryStorage, tmp_path: Path) -> JobRuntime:
    return JobRuntime(Path("ffmpeg"), StorageRegistry([bucket]), tmp_path / "scratch")


def test_one_generations_keys_go_and_the_rest_stays(tmp_path: Path) -> None:
    bucket = MemoryStorage("out")
    runtime = runtime_with(bucket, tmp_path)
    gone = ".reelflow-chunks/t-1/g0/s5/"
    kept = [".reelflow-chunks/t-1/g0/s9/chunk0-w0.mp4", "out/a.mp4"]
    for n in range(1003):  # more than one listing page
        bucket.put_bytes(f"{gone}chunk{n}-w0.mp4", b"x")
    for key in kept:
        bucket.put_bytes(key, b"y")
    remove_parts(runtime, "out", gone)
    assert sorted(o.key for o in bucket.list("")) == sorted(kept)
    remove_parts(runtime, "out", gone)  # again: nothing to do, no error
    assert len(bucket.list("")) == 2


def test_the_scratch_roots_folder_goes(tmp_path: Path) -> None:
    runtime = runtime_with(MemoryStorage("out"), tmp_path)
    root = runtime.scratch.root / SCRATCH_FOLDER
    for name in ("t-1-g0-s5", "t-1-g0-s9"):
        (root / name).mkdir(parents=True)
        (root / name / "chunk0-w0.mp4").write_bytes(b"x")
    remove_parts(runtime, "", "t-1-g0-s5")
    remove_parts(runtime, "", "t-1-g0-s5")
    assert sorted(p.name for p in root.iterdir()) == ["t-1-g0-s9"]


@pytest.mark.parametrize(
    ("bucket", "prefix"),
    [
        ("", ""),
        ("", "../x"),
        ("", "a/b"),
        ("out", "out/"),
        ("out", ".reelflow-chunks/t"),
        ("out", ""),
    ],
)
def test_anything_else_is_refused(tmp_path: Path, bucket: str, prefix: str) -> None:
    store = MemoryStorage("out")
    store.put_bytes("out/a.mp4", b"y")
    with pytest.raises(ValueError):
        remove_parts(runtime_with(store, tmp_path), bucket, prefix)
    assert len(store.list("")) == 1
