"""Local buckets made through the API: a folder under the data dir, a row naming its owner.

Unlike the buckets of ``reelflow.toml`` they live in the database, so each start adds them
back to the storage registry (:meth:`BucketFolders.load`).
"""

from __future__ import annotations

from pathlib import Path

from reelflow.catalog.accounts import Account
from reelflow.catalog.buckets import BucketInfo, Buckets
from reelflow.errors import BucketExists
from reelflow.object_keys import validate_bucket_name
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.registry import StorageRegistry


class BucketFolders:
    """``BucketFolders(buckets, storages, root)``: new local buckets are folders in ``root``."""

    def __init__(self, buckets: Buckets, storages: StorageRegistry, root: Path) -> None:
        self._buckets = buckets
        self._storages = storages
        self._root = root

    def load(self) -> None:
        """Add the buckets made through the API on earlier starts to the registry."""
        for info in self._buckets.local():
            if info.name not in self._storages and info.path:
                self._storages.add(LocalStorage(info.name, Path(info.path)))

    def create(self, account: Account, name: str) -> BucketInfo:
        """A new local bucket (a folder under the data dir) owned by ``account``."""
        validate_bucket_name(name)
        if name in self._storages:
            raise BucketExists(f"bucket '{name}' already exists; choose another name")
        root = (self._root / name).resolve()
        info = self._buckets.create(name, account.id, path=str(root))
        root.mkdir(parents=True, exist_ok=True)
        self._storages.add(LocalStorage(name, root))
        return info
