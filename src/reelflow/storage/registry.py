"""The buckets a running reelflow knows, by name."""

from __future__ import annotations

from collections.abc import Iterable

from reelflow.errors import ConfigError, StorageError
from reelflow.storage.base import Storage


class BucketNotFound(StorageError):
    """A request named a bucket that is not configured. Permanent: retrying cannot help.

    Belongs in :mod:`reelflow.errors` next to ``ObjectNotFound``; kept here until then.
    """

    code = "ResourceNotFound.BucketNotExist"
    retryable = False


class StorageRegistry:
    """Maps bucket names to their :class:`Storage`; built once at start-up from settings."""

    def __init__(self, storages: Iterable[Storage] = ()) -> None:
        self._storages: dict[str, Storage] = {}
        for storage in storages:
            self.add(storage)

    def add(self, storage: Storage) -> None:
        """Register ``storage`` under its name; a name used twice raises ``ConfigError``."""
        if storage.name in self._storages:
            raise ConfigError(
                f"bucket '{storage.name}' is configured twice "
                f"({self._storages[storage.name]!r} and {storage!r})"
            )
        self._storages[storage.name] = storage

    def get(self, name: str) -> Storage:
        """The bucket called ``name``; ``BucketNotFound`` names the known ones if absent."""
        try:
            return self._storages[name]
        except KeyError:
            known = ", ".join(f"'{n}'" for n in self.names()) or "none"
            raise BucketNotFound(
                f"bucket '{name}' does not exist; configured buckets: {known}"
            ) from None

    def names(self) -> list[str]:
        """The configured bucket names, sorted."""
        return sorted(self._storages)

    def __contains__(self, name: object) -> bool:
        return name in self._storages
