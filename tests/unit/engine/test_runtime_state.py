"""ServerServices wiring of the service state: admin key on the first start only, bucket owners."""

from __future__ import annotations

import sys
from pathlib import Path

from reelflow.config import Settings
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import DEFAULT_BUCKET, StorageRegistry
from reelflow.wiring.server import build_server


def settings(tmp_path: Path) -> Settings:
    # Any executable stands in for FFmpeg: nothing runs in these tests.
    return Settings(data_dir=tmp_path / "data", ffmpeg=sys.executable)


def test_first_start_makes_the_admin_key_and_owns_media(tmp_path: Path) -> None:
    with build_server(settings(tmp_path)) as first:
        key = first.admin_key
        assert key is not None and key.account.is_admin
        assert first.admin_account == key.account
        assert first.accounts.authenticate(key.secret_key) == key.account
        assert first.buckets.owner(DEFAULT_BUCKET) == key.account.id
        (media,) = first.buckets.list(key.account.id)
        assert (media.backend, media.path) == (
            "local",
            str((tmp_path / "data" / "buckets" / "media").resolve()),
        )
    with build_server(settings(tmp_path)) as again:
        assert again.admin_key is None
        assert again.admin_account == key.account
        assert again.accounts.authenticate(key.secret_key) == key.account


def test_configured_buckets_belong_to_the_admin(tmp_path: Path) -> None:
    storages = StorageRegistry([MemoryStorage("scratch")])
    with build_server(settings(tmp_path), storages=storages) as runtime:
        admin = runtime.admin_account.id
        assert [(b.name, b.backend) for b in runtime.buckets.list(admin)] == [("scratch", "memory")]
        assert runtime.workflows.list(admin) == ([], 0)
        assert runtime.templates.list(admin, type="Custom") == ([], 0)
