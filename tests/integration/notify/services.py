"""Real Redis and RabbitMQ for the notification tests.

``require_service(name, connect)`` connects for real; when it cannot, the test fails under
``CI=true`` (CI must run these tests) and is skipped with the reason otherwise. The
addresses come from ``REELFLOW_TEST_REDIS_URL`` / ``REELFLOW_TEST_AMQP_URL`` (defaults: the
local services on their standard ports).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

REDIS_URL = os.environ.get("REELFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("REELFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def require_service(name: str, connect: Callable[[], T]) -> T:
    """``connect()``'s result, or fail (CI) / skip (elsewhere) naming why it failed."""
    try:
        return connect()
    except Exception as exc:  # any failure to connect means the same here
        reason = f"{name} is not reachable: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the service must be running)")
        pytest.skip(f"{reason}; start it to run this test")
