import pytest

from reelflow.errors import BucketNotFound, ConfigError, StorageError
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry


def test_get_add_and_names() -> None:
    videos, images = MemoryStorage("videos"), MemoryStorage("images")
    registry = StorageRegistry([videos])
    registry.add(images)

    assert registry.get("videos") is videos
    assert registry.get("images") is images
    assert registry.names() == ["images", "videos"]
    assert "videos" in registry
    assert "audio" not in registry


def test_unknown_bucket_names_the_known_ones() -> None:
    registry = StorageRegistry([MemoryStorage("videos"), MemoryStorage("images")])

    with pytest.raises(BucketNotFound) as caught:
        registry.get("audio")

    error = caught.value
    assert isinstance(error, StorageError)
    assert error.code == "ResourceNotFound.BucketNotExist"
    assert not error.retryable
    assert str(error) == ("bucket 'audio' does not exist; configured buckets: 'images', 'videos'")


def test_empty_registry() -> None:
    with pytest.raises(BucketNotFound, match="configured buckets: none"):
        StorageRegistry().get("x")


def test_a_bucket_name_cannot_be_registered_twice() -> None:
    registry = StorageRegistry([MemoryStorage("videos")])
    with pytest.raises(ConfigError, match="'videos' is configured twice"):
        registry.add(MemoryStorage("videos"))
