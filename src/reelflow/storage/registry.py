"""The buckets a running reelflow knows, by name, and the one place that chooses a backend
for each configured bucket (once, at start-up, from settings).

The S3 backend is imported only when a bucket uses it, and its absence is reported with the
extra to install.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reelflow.config.buckets import MIB, BucketConfig, LocalBucketConfig, S3BucketConfig
from reelflow.errors import BucketNotFound, ConfigError
from reelflow.storage.base import Storage
from reelflow.storage.local.backend import LocalStorage

if TYPE_CHECKING:
    from reelflow.config import Settings

DEFAULT_BUCKET = "media"


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


def bucket_configs(settings: Settings) -> dict[str, BucketConfig]:
    """The configured buckets by name; ``media`` (local) is always there."""
    configs: dict[str, BucketConfig] = dict(settings.buckets)
    configs.setdefault(DEFAULT_BUCKET, LocalBucketConfig(backend="local"))
    return dict(sorted(configs.items()))


def build_storage(name: str, config: BucketConfig, settings: Settings) -> Storage:
    """One bucket's backend; ``ConfigError`` names the bucket when it cannot be built."""
    if isinstance(config, LocalBucketConfig):
        root = config.path if config.path is not None else settings.data_dir / "buckets" / name
        return LocalStorage(name, root.expanduser())
    return _build_s3(name, config)


def _build_s3(name: str, config: S3BucketConfig) -> Storage:
    try:
        from reelflow.storage.s3.backend import S3Options, S3Storage
    except ImportError as exc:
        raise ConfigError(
            f"bucket '{name}' uses backend 's3', which needs boto3: "
            f"pip install 'reelflow[s3]' ({exc})"
        ) from exc
    options = S3Options(
        endpoint=config.endpoint,
        region=config.region,
        bucket=config.bucket,
        access_key=config.access_key,
        secret_key=config.secret_key,
        prefix=config.prefix,
        addressing_style=config.addressing_style,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_attempts=config.max_attempts,
        part_size=config.part_size_mb * MIB,
        concurrency=config.upload_concurrency,
    )
    return S3Storage(name, options)


def build_storages(settings: Settings) -> StorageRegistry:
    """Every configured bucket (see :func:`bucket_configs`), built once at start-up."""
    return StorageRegistry(
        build_storage(name, config, settings) for name, config in bucket_configs(settings).items()
    )
