"""Which triggers a process runs: chosen by what each bucket declares, never by its class."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from reelflow.config.buckets import BucketConfig, LocalBucketConfig, S3BucketConfig
from reelflow.storage.base import Capabilities, Storage
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.s3_events import S3Target
from reelflow.triggers.s3_poll import S3Poller
from reelflow.triggers.service import TriggerService
from reelflow.triggers.watch import FolderWatcher
from reelflow.wiring.server import ServerServices


def triggers_for(
    runtime: ServerServices, storages: list[Storage], configs: Mapping[str, BucketConfig]
) -> TriggerService:
    return TriggerService(
        StorageRegistry(storages),
        configs,
        runtime.triggers.ledger,
        runtime.workflows,
        runtime.engine,
    )


def s3_config(bucket: str, *, events: bool = False) -> S3BucketConfig:
    return S3BucketConfig(backend="s3", region="ap-guangzhou", bucket=bucket, events=events)


def announcing(name: str, key_prefix: str = "") -> MemoryStorage:
    """An in-memory bucket that declares what an S3 store offers."""
    storage = MemoryStorage(name)
    storage.capabilities = Capabilities(native_events=True, key_prefix=key_prefix)
    return storage


def test_a_folder_is_watched_unless_configured_not_to(
    runtime: ServerServices, tmp_path: Path
) -> None:
    watched = LocalStorage("watched", tmp_path / "watched")
    quiet = LocalStorage("quiet", tmp_path / "quiet")
    configs = {"quiet": LocalBucketConfig(backend="local", watch=False)}

    service = triggers_for(runtime, [watched, quiet, MemoryStorage("memory")], configs)

    (watcher,) = service.triggers
    assert isinstance(watcher, FolderWatcher)
    assert watcher.storage is watched and watcher.root == (tmp_path / "watched").resolve()
    assert service.s3_targets == []


def test_an_s3_bucket_whose_store_announces_objects_gets_a_target_and_a_poller(
    runtime: ServerServices,
) -> None:
    remote = announcing("remote", "in/")
    configs = {"remote": s3_config("s3-remote"), "silent": s3_config("s3-silent")}

    service = triggers_for(runtime, [remote, MemoryStorage("silent")], configs)

    assert service.s3_targets == [S3Target("remote", "s3-remote", "in/", "")]
    (poller,) = service.triggers
    assert isinstance(poller, S3Poller) and poller.storage is remote


def test_no_poller_for_a_store_that_sends_its_events(runtime: ServerServices) -> None:
    configs = {"remote": s3_config("s3-remote", events=True)}

    service = triggers_for(runtime, [announcing("remote")], configs)

    assert service.s3_targets == [S3Target("remote", "s3-remote", "", "")]
    assert service.triggers == []


def test_a_folder_watcher_refuses_a_bucket_that_is_not_a_folder(runtime: ServerServices) -> None:
    with pytest.raises(ValueError, match="bucket 'memory' is not a local folder"):
        FolderWatcher(MemoryStorage("memory"), runtime.triggers.dispatcher, runtime.triggers.ledger)
