"""What only a local folder can get wrong: OS errors, temporary files, links, folders."""

import errno
import hashlib
import io
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reelflow.errors import AccessDenied, DiskFull, InvalidKey, ObjectNotFound, StorageError
from reelflow.object_keys import TEMP_MARKER
from reelflow.storage import base
from reelflow.storage.base import Capabilities
from reelflow.storage.local.backend import LocalStorage


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


@pytest.fixture
def storage(root: Path) -> LocalStorage:
    return LocalStorage("bucket", root)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


# -- the root folder ---------------------------------------------------------------------


def test_root_is_created(tmp_path: Path) -> None:
    storage = LocalStorage("bucket", tmp_path / "data" / "bucket")
    assert storage.root == (tmp_path / "data" / "bucket").resolve()
    assert storage.root.is_dir()


def test_declares_its_folder(storage: LocalStorage, root: Path) -> None:
    assert storage.capabilities == Capabilities(folder=root.resolve())


def test_missing_root_fails_at_start_up_without_create(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"bucket 'bucket'.*missing or not a folder"):
        LocalStorage("bucket", tmp_path / "absent", create=False)


def test_root_that_is_a_file_fails_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "bucket").write_bytes(b"")
    with pytest.raises(StorageError, match="bucket 'bucket'"):
        LocalStorage("bucket", tmp_path / "bucket")


def test_writes_fail_when_the_root_became_a_file(storage: LocalStorage, root: Path) -> None:
    root.rmdir()
    root.write_bytes(b"not a folder")

    with pytest.raises(StorageError, match=r"bucket 'bucket'.*missing or not a folder") as caught:
        storage.put_bytes("a.mp4", b"x")

    assert caught.value.retryable
    assert root.read_bytes() == b"not a folder"


def test_a_vanished_root_is_not_recreated(storage: LocalStorage, root: Path) -> None:
    # Usually an unmounted volume: writing into the mount point would hide the objects.
    storage.put_bytes("a.mp4", b"x")
    (root / "a.mp4").unlink()
    root.rmdir()

    with pytest.raises(StorageError, match="missing or not a folder"):
        storage.put_bytes("b.mp4", b"x")
    for call in (lambda: storage.stat("a.mp4"), lambda: storage.delete("a.mp4"), storage.list):
        with pytest.raises(StorageError, match="missing or not a folder") as caught:
            call()
        assert not isinstance(caught.value, ObjectNotFound)
    assert not root.exists()


# -- OS errors are translated ------------------------------------------------------------


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_read_only_root_is_access_denied(storage: LocalStorage, root: Path) -> None:
    root.chmod(0o555)
    try:
        with pytest.raises(AccessDenied) as caught:
            storage.put_bytes("a.mp4", b"x")
    finally:
        root.chmod(0o755)
    assert isinstance(caught.value.__cause__, PermissionError)


def test_permission_error_is_access_denied(
    storage: LocalStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, which no chmod stops: make the rename itself refuse.
    def refuse(src: object, dst: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)

    with pytest.raises(
        AccessDenied, match=r"cannot write 'up/a\.mp4' in bucket 'bucket'"
    ) as caught:
        storage.put_bytes("up/a.mp4", b"x")

    assert not caught.value.retryable
    assert isinstance(caught.value.__cause__, PermissionError)
    assert files_under(root) == []


def test_full_disk_is_disk_full(
    storage: LocalStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)

    with pytest.raises(StorageError, match="no space left") as caught:
        storage.put_bytes("a.mp4", b"x" * 100)

    # Not retried: the job fails with the code; work succeeds again once space is freed.
    assert type(caught.value) is DiskFull
    assert caught.value.code == "StorageError.DiskFull"
    assert not caught.value.retryable
    assert files_under(root) == []


def test_unreadable_source_file_is_translated(storage: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot read the local file"):
        storage.put_file("a.mp4", tmp_path / "missing.mp4")


def test_object_and_folder_of_the_same_name_conflict(storage: LocalStorage) -> None:
    storage.put_bytes("a", b"file")
    with pytest.raises(InvalidKey, match="both an object and a folder"):
        storage.put_bytes("a/b", b"x")

    storage.put_bytes("c/d", b"x")
    with pytest.raises(InvalidKey, match="both an object and a folder"):
        storage.put_bytes("c", b"x")

    assert [i.key for i in storage.list()] == ["a", "c/d"]
    with pytest.raises(ObjectNotFound):
        storage.stat("a/b")
    storage.delete("a/b")
    storage.delete("c")
    assert [i.key for i in storage.list()] == ["a", "c/d"]


# -- temporary files ---------------------------------------------------------------------


class Spy(io.BytesIO):
    """A source that, halfway through, records what the storage shows."""

    def __init__(self, storage: LocalStorage, data: bytes) -> None:
        super().__init__(data)
        self.storage = storage
        self.seen: list[tuple[list[str], list[str], bool]] = []

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() > 0 and not self.seen:
            listed = [i.key for i in self.storage.list()]
            on_disk = files_under(self.storage.root)
            self.seen.append((listed, on_disk, self.storage.exists("up/new.mp4")))
        return super().read(size)


def test_temporary_files_are_invisible_mid_write(storage: LocalStorage) -> None:
    storage.put_bytes("up/old.mp4", b"old")
    spy = Spy(storage, b"x" * (3 * base.CHUNK_SIZE))

    storage.put_stream("up/new.mp4", spy)

    [(listed, on_disk, exists)] = spy.seen
    assert listed == ["up/old.mp4"]
    assert not exists
    [tmp] = [name for name in on_disk if TEMP_MARKER in name]
    assert tmp.startswith("up/.new.mp4" + TEMP_MARKER)
    assert files_under(storage.root) == ["up/new.mp4", "up/old.mp4"]


def test_leftover_temporary_files_are_never_listed(storage: LocalStorage, root: Path) -> None:
    # As a crash in the middle of a write would leave them.
    (root / "up").mkdir()
    (root / "up" / f".a.mp4{TEMP_MARKER}0123").write_bytes(b"partial")
    (root / f".b{TEMP_MARKER}x").mkdir()
    (root / f".b{TEMP_MARKER}x" / "c").write_bytes(b"")

    assert storage.list() == []
    with pytest.raises(InvalidKey):
        storage.stat(f"up/.a.mp4{TEMP_MARKER}0123")


# -- files that reelflow did not write ---------------------------------------------------


def test_files_copied_in_by_hand_are_objects(storage: LocalStorage, root: Path) -> None:
    (root / "in" / "sub").mkdir(parents=True)
    (root / "in" / "sub" / "clip one.mov").write_bytes(b"abc")
    (root / "in" / "bad\\name.mov").write_bytes(b"")  # no valid key: not listed

    [info] = storage.list()
    assert info.key == "in/sub/clip one.mov"
    assert info.etag == hashlib.md5(b"abc").hexdigest()
    assert info.content_type == "video/quicktime"


def test_etag_follows_content_changes(storage: LocalStorage, root: Path) -> None:
    storage.put_bytes("a.txt", b"one")
    path = root / "a.txt"
    path.write_bytes(b"two!")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))

    info = storage.stat("a.txt")

    assert info.etag == hashlib.md5(b"two!").hexdigest()
    assert info.size == 4
    assert info.modified.timestamp() == pytest.approx(1_700_000_000.123456)
    assert info.modified.microsecond == 123456


def test_etag_survives_the_process_in_an_extended_attribute(root: Path) -> None:
    LocalStorage("bucket", root).put_bytes("a.bin", b"payload")
    saved = os.getxattr(root / "a.bin", "user.reelflow.etag")
    assert saved.decode().endswith(hashlib.md5(b"payload").hexdigest())

    # A forged value with the right stamp proves a fresh instance reads, not rehashes.
    stamp = saved.decode().rpartition("|")[0]
    os.setxattr(root / "a.bin", "user.reelflow.etag", f"{stamp}|{'f' * 32}".encode())
    assert LocalStorage("bucket", root).stat("a.bin").etag == "f" * 32
    # A value that is no ETag is not trusted.
    os.setxattr(root / "a.bin", "user.reelflow.etag", f"{stamp}|junk".encode())
    etag = LocalStorage("bucket", root).stat("a.bin").etag
    assert etag == hashlib.md5(b"payload").hexdigest()


# -- uploads -----------------------------------------------------------------------------


def test_an_upload_gets_a_version_etag_that_every_process_sees(root: Path) -> None:
    storage = LocalStorage("bucket", root)
    info = storage.put_upload("up/a.bin", io.BytesIO(b"x" * 3000))
    assert info.size == 3000
    assert info.etag.startswith("v-") and len(info.etag) == 34
    assert (root / "up" / "a.bin").read_bytes() == b"x" * 3000
    assert storage.stat("up/a.bin") == info
    assert LocalStorage("bucket", root).stat("up/a.bin").etag == info.etag
    assert storage.list("up/") == [info]
    # The same bytes uploaded again are a new version.
    assert storage.put_upload("up/a.bin", io.BytesIO(b"x" * 3000)).etag != info.etag


def test_a_file_is_tagged_before_it_appears_under_its_name(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder watcher may read the ETag the moment the rename lands: it must find the tag.
    seen: list[str] = []
    replace = os.replace

    def spying_replace(src: Path, dst: Path) -> None:
        seen.append(os.getxattr(src, "user.reelflow.etag").decode().rpartition("|")[2])
        replace(src, dst)

    monkeypatch.setattr(base.os, "replace", spying_replace)
    uploaded = storage.put_upload("a.bin", io.BytesIO(b"upload"))
    written = storage.put_stream("b.bin", io.BytesIO(b"written"))
    assert seen == [uploaded.etag, written.etag]
    assert written.etag == hashlib.md5(b"written").hexdigest()


def test_an_upload_changed_in_place_is_hashed_anew(storage: LocalStorage, root: Path) -> None:
    first = storage.put_upload("a.bin", io.BytesIO(b"first"))
    path = root / "a.bin"
    with path.open("r+b") as handle:  # same inode, as `cp` over an existing file does
        handle.write(b"other")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    again = storage.stat("a.bin")
    assert again.etag != first.etag
    assert again.etag == hashlib.md5(b"other").hexdigest()
    assert LocalStorage("bucket", root).stat("a.bin").etag == again.etag


def test_without_user_attributes_an_upload_is_hashed(
    storage: LocalStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    info = storage.put_upload("a.bin", io.BytesIO(b"payload"))
    # Another process could not know a version tag: the ETag is the content's MD5.
    assert info.etag == hashlib.md5(b"payload").hexdigest()
    assert LocalStorage("bucket", root).stat("a.bin").etag == info.etag


def test_without_user_attributes_a_version_tag_is_never_seen(
    storage: LocalStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    replace = os.replace

    def refuse(*args: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    def spying_replace(src: Path, dst: Path) -> None:
        # What any reader (the folder watcher) gets the moment the file has its name.
        replace(src, dst)
        seen.append(storage.stat(Path(dst).relative_to(root).as_posix()).etag)

    monkeypatch.setattr(os, "setxattr", refuse)
    monkeypatch.setattr(base.os, "replace", spying_replace)
    first = storage.put_upload("a.bin", io.BytesIO(b"first"))
    second = storage.put_upload("b.bin", io.BytesIO(b"second"))
    assert [first.etag, second.etag] == [
        hashlib.md5(b"first").hexdigest(),
        hashlib.md5(b"second").hexdigest(),
    ]
    assert seen == [first.etag, second.etag]


def test_a_failed_upload_leaves_nothing(storage: LocalStorage, root: Path) -> None:
    storage.put_upload("a.bin", io.BytesIO(b"old"))

    class Broken(io.RawIOBase):
        sent = False

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            if self.sent:
                raise ConnectionError("client gone")
            self.sent = True
            memoryview(buffer).cast("B")[:3] = b"new"  # type: ignore[arg-type]
            return 3

    with pytest.raises(ConnectionError, match="client gone"):
        storage.put_upload("a.bin", io.BufferedReader(Broken()))
    assert files_under(root) == ["a.bin"]
    assert storage.read_bytes("a.bin") == b"old"


# -- links and paths ---------------------------------------------------------------------


def test_symbolic_links_cannot_escape_the_root(
    storage: LocalStorage, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (root / "link").symlink_to(outside, target_is_directory=True)

    with pytest.raises(AccessDenied, match="outside the bucket folder"):
        storage.stat("link/secret.txt")
    with pytest.raises(AccessDenied):
        storage.put_bytes("link/new.txt", b"x")
    with pytest.raises(AccessDenied):
        storage.delete("link/secret.txt")
    assert storage.list() == []
    assert storage.list("link/") == []
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_symbolic_links_inside_the_root_are_read_but_not_listed(
    storage: LocalStorage, root: Path
) -> None:
    storage.put_bytes("real.txt", b"data")
    (root / "alias.txt").symlink_to(root / "real.txt")

    assert storage.read_bytes("alias.txt") == b"data"
    assert [i.key for i in storage.list()] == ["real.txt"]
    storage.delete("alias.txt")  # removes the link, not its target
    assert storage.read_bytes("real.txt") == b"data"


def test_local_path(storage: LocalStorage, root: Path) -> None:
    storage.put_bytes("/up/a b.mp4", b"x")
    assert storage.local_path("up/a b.mp4") == root.resolve() / "up" / "a b.mp4"
    with pytest.raises(ObjectNotFound):
        storage.local_path("up/missing.mp4")


def test_delete_removes_emptied_folders_up_to_the_root(storage: LocalStorage, root: Path) -> None:
    storage.put_bytes("a/b/c/d.mp4", b"x")
    storage.put_bytes("a/keep.mp4", b"x")

    storage.delete("a/b/c/d.mp4")
    assert sorted(os.listdir(root)) == ["a"]
    assert sorted(os.listdir(root / "a")) == ["keep.mp4"]

    storage.delete("a/keep.mp4")
    assert root.is_dir()
    assert os.listdir(root) == []


def test_range_stream_closes_its_file(storage: LocalStorage) -> None:
    storage.put_bytes("digits", b"0123456789")
    stream = storage.open_read("digits", 2, 4)
    with stream:
        assert stream.read(1) == b"2"
    assert stream.closed


def test_concurrent_writes_and_deletes_in_one_folder(storage: LocalStorage) -> None:
    # delete prunes the folders it empties while other threads create files in them.
    def churn(worker: int) -> None:
        for i in range(40):
            key = f"shared/sub/w{worker}-{i}.bin"
            storage.put_bytes(key, b"x")
            storage.delete(key)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for future in [pool.submit(churn, w) for w in range(6)]:
            future.result()

    assert storage.list() == []
    assert files_under(storage.root) == []
