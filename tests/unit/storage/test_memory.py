from datetime import UTC, datetime

import pytest

from reelflow.errors import AccessDenied, StorageError
from reelflow.storage.base import Capabilities
from reelflow.storage.memory import MemoryStorage


def test_fail_writes_simulates_an_unwritable_bucket() -> None:
    storage = MemoryStorage("out")
    storage.put_bytes("kept.mp4", b"x")
    storage.fail_writes = True

    with pytest.raises(StorageError, match=r"cannot write 'new\.mp4' to bucket 'out'") as caught:
        storage.put_bytes("new.mp4", b"y")

    assert caught.value.retryable
    assert storage.read_bytes("kept.mp4") == b"x"  # reads still work
    assert [i.key for i in storage.list()] == ["kept.mp4"]

    storage.fail_writes = False
    storage.put_bytes("new.mp4", b"y")
    assert storage.exists("new.mp4")


def test_fail_writes_raises_a_given_error() -> None:
    denied = AccessDenied("bucket is read-only")
    storage = MemoryStorage("out", fail_writes=denied)

    with pytest.raises(AccessDenied) as caught:
        storage.put_bytes("a.mp4", b"")

    assert caught.value is denied
    assert storage.list() == []


def test_keeps_explicit_content_type_and_allows_object_and_folder_of_one_name() -> None:
    storage = MemoryStorage("b")
    storage.put_bytes("a", b"1", content_type="video/mp4")
    storage.put_bytes("a/b", b"2")  # as on S3, unlike a local folder

    assert storage.stat("a").content_type == "video/mp4"
    assert [i.key for i in storage.list()] == ["a", "a/b"]
    assert storage.local_path("a") is None


def test_declares_nothing_beyond_the_contract_and_dates_objects_by_this_clock() -> None:
    storage = MemoryStorage("b")
    before = datetime.now(UTC)

    assert storage.capabilities == Capabilities()
    assert before <= storage.server_time() <= datetime.now(UTC)
