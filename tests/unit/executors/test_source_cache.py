"""The machine's source cache: one fetch per source version, shared by the jobs that read
it, each job holding its own link; unused entries are swept."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from reelflow.errors import StorageUnavailable
from reelflow.executors.jobs import JobRuntime
from reelflow.executors.source_cache import SourceCache
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.requests import TaskSource
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry


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


def test_an_entry_of_the_wrong_size_is_fetched_again(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "sources")
    cache.root.mkdir()
    cache.entry("media/a.mp4", "etag1").write_bytes(b"cut")  # e.g. after a power loss
    fill = Filler(b"whole")
    copy = cache.link("media/a.mp4", "etag1", tmp_path / "job.mp4", fill, size=5)
    assert fill.calls == 1
    assert copy.read_bytes() == b"whole"


class CountingStorage(MemoryStorage):
    """A bucket whose objects are not local files and that has no URLs (like S3 to FFmpeg
    now): jobs must fetch; counts the reads."""

    reads = 0

    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        self.reads += 1
        return super().open_read(key, start, end)


def test_the_probe_and_media_jobs_of_a_task_fetch_its_s3_source_once(tmp_path: Path) -> None:
    bucket = CountingStorage("fin")
    bucket.put_bytes("in/a.mp4", b"not really media")
    runtime = JobRuntime(Path("ffmpeg"), StorageRegistry([bucket]), tmp_path / "scratch")
    source = TaskSource(type="bucket", bucket="fin", key="in/a.mp4")
    paths = []
    for kind in (JobKind.PROBE, JobKind.MEDIA):
        job = JobPayload(job_id=f"j-{kind.value}", task_id="t-1", kind=kind, source=source)
        work_dir = tmp_path / kind.value
        work_dir.mkdir()
        with runtime._source(job, work_dir) as path:
            paths.append(Path(path))
            assert Path(path).read_bytes() == b"not really media"
    assert bucket.reads == 1
    assert [p.parent.name for p in paths] == [JobKind.PROBE.value, JobKind.MEDIA.value]
    assert [p.name for p in paths] == ["source.mp4"] * 2
