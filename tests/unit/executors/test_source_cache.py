"""The machine's source cache: one fetch per source version, shared by the jobs that read
it, each job holding its own link; unused entries are swept."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from reelflow.errors import StorageUnavailable
from reelflow.executors.source_cache import SourceCache


class Filler:
    def __init__(self, data: bytes = b"media bytes") -> None:
        self.data = data
        self.calls = 0
        self.fail: Exception | None = None

    def __call__(self, entry: Path) -> None:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        time.sleep(0.05)  # a fetch takes a while: concurrent jobs would overlap
        tmp = entry.with_name(entry.name + ".part")
        tmp.write_bytes(self.data)
        tmp.rename(entry)


def test_jobs_of_one_machine_fetch_a_source_once(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "sources")
    fill = Filler()
    dests = [tmp_path / f"job{i}" / "source.mp4" for i in range(4)]
    for dest in dests:
        dest.parent.mkdir()
    threads = [
        threading.Thread(target=cache.link, args=("media/a.mp4", "etag1", d, fill)) for d in dests
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fill.calls == 1
    assert [d.read_bytes() for d in dests] == [b"media bytes"] * 4


def test_a_new_version_is_fetched_again(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "sources")
    old, new = Filler(b"old"), Filler(b"new")
    cache.link("media/a.mp4", "etag1", tmp_path / "one.mp4", old)
    cache.link("media/a.mp4", "etag2", tmp_path / "two.mp4", new)
    assert (tmp_path / "one.mp4").read_bytes() == b"old"
    assert (tmp_path / "two.mp4").read_bytes() == b"new"


def test_a_failed_fill_leaves_no_entry(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "sources")
    fill = Filler()
    fill.fail = StorageUnavailable("bucket 'media' unreachable")
    with pytest.raises(StorageUnavailable):
        cache.link("media/a.mp4", "etag1", tmp_path / "one.mp4", fill)
    fill.fail = None
    cache.link("media/a.mp4", "etag1", tmp_path / "one.mp4", fill)
    assert fill.calls == 2
    assert (tmp_path / "one.mp4").read_bytes() == b"media bytes"


def test_unused_entries_are_swept_but_a_job_keeps_its_copy(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "sources", ttl=60)
    job_copy = cache.link("media/a.mp4", "etag1", tmp_path / "job.mp4", Filler(b"a"))
    old = time.time() - 120
    for path in cache.root.iterdir():
        os.utime(path, (old, old))
    cache.link("media/b.mp4", "etag1", tmp_path / "other.mp4", Filler(b"b"))
    assert not cache.entry("media/a.mp4", "etag1").exists()
    assert cache.entry("media/b.mp4", "etag1").exists()
    assert job_copy.read_bytes() == b"a"  # its hard link outlives the entry
