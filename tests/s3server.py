"""moto's standalone S3 server on loopback, as a subprocess, for tests of the S3 backend.

Without moto installed (``pip install -e '.[dev]'`` brings it) the fixtures skip with the
reason; under ``CI=true`` they fail instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.servers import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

    from reelflow.storage.s3.backend import S3Options

REGION = "ap-guangzhou"
ACCESS_KEY = "testing-access"
SECRET_KEY = "testing-secret"
# Small parts exercise multipart uploads without megabytes of test data.
TEST_PART_SIZE = 256 * 1024


def require(module: str) -> None:
    """Skip (or fail under CI=true) when ``module`` is not installed."""
    try:
        __import__(module)
    except ImportError:
        reason = f"{module} is not installed: pip install -e '.[dev,s3]'"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass(frozen=True)
class MotoServer:
    endpoint: str

    def client(self) -> S3Client:
        from reelflow.storage.s3.backend import make_client

        return make_client(self.options(""))

    def options(self, bucket: str, **extra: Any) -> S3Options:
        from reelflow.storage.s3.backend import S3Options

        return S3Options(
            endpoint=self.endpoint,
            region=REGION,
            bucket=bucket,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            part_size=TEST_PART_SIZE,
            max_attempts=2,
            **extra,
        )

    def create_bucket(self, prefix: str = "b") -> str:
        """A new, empty S3 bucket; returns its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return name


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    require("moto")
    require("boto3")
    port = free_port()
    env = {**os.environ, "S3_UPLOAD_PART_MIN_SIZE": str(TEST_PART_SIZE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield MotoServer(endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
