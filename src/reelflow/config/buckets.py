"""How buckets are configured: one table per bucket under ``[buckets.NAME]`` in
``reelflow.toml`` (or ``REELFLOW_BUCKETS`` as JSON), told apart by ``backend``.

Local::

    [buckets.media]
    backend = "local"
    path = "/srv/media"        # optional: default <data dir>/buckets/<name>
    owner = "admin"            # the account that owns it (created if missing)
    watch = true               # fire workflows for files copied in (cp, rsync)

S3-compatible::

    [buckets.archive]
    backend = "s3"
    endpoint = "http://127.0.0.1:9000"   # empty for AWS itself
    region = "ap-guangzhou"
    bucket = "archive"
    access_key = "..."                   # both empty: boto3's default credential chain
    secret_key = "..."
    prefix = ""                          # where this bucket lives inside the S3 bucket
    owner = "admin"
    events = false     # true: the store POSTs event notifications to /v1/hooks/s3,
                       # so the poller stays off for this bucket
    poll_interval = 60 # seconds between listings when events = false (0: no polling)
    hook_token = ""    # a shared secret the store may send as "Authorization: Bearer ..."
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelflow.errors import InvalidKey
from reelflow.object_keys import validate_key

DEFAULT_OWNER = "admin"
MIB = 1024 * 1024


class LocalBucketConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["local"]
    path: Path | None = None
    owner: str = DEFAULT_OWNER
    watch: bool = True


class S3BucketConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["s3"]
    endpoint: str = ""
    region: Annotated[str, Field(min_length=1, max_length=64)]
    bucket: Annotated[str, Field(min_length=3, max_length=63)]
    access_key: str = ""
    secret_key: str = ""
    prefix: str = ""
    owner: str = DEFAULT_OWNER
    events: bool = False
    poll_interval: Annotated[float, Field(ge=0, le=86_400)] = 60.0
    # How far behind its watermark the poller looks again: S3 dates a multipart object by
    # the start of its upload, which may precede the previous listing.
    poll_lookback: Annotated[float, Field(ge=0, le=7 * 86_400)] = 900.0
    hook_token: str = ""
    addressing_style: Literal["path", "virtual", "auto"] = "path"
    connect_timeout: Annotated[float, Field(gt=0, le=300)] = 5.0
    read_timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    part_size_mb: Annotated[int, Field(ge=5, le=5120)] = 8
    upload_concurrency: Annotated[int, Field(ge=1, le=32)] = 4

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        folder = value.strip("/")
        if not folder:
            return ""
        try:
            validate_key(folder)
        except InvalidKey as exc:
            raise ValueError(f"invalid prefix: {exc.message}") from None
        return folder + "/"

    @model_validator(mode="after")
    def _check_credentials(self) -> S3BucketConfig:
        if bool(self.access_key) != bool(self.secret_key):
            raise ValueError(
                "give both access_key and secret_key, or neither (boto3's default chain)"
            )
        return self


BucketConfig = Annotated[LocalBucketConfig | S3BucketConfig, Field(discriminator="backend")]
