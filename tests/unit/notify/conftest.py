"""Notification fixtures: the harness over the in-memory sinks (``memory_sinks``), on the
shared ``db`` and ``clock`` fixtures, with a backoff whose jitter is fixed (factor 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.config import Settings
from reelflow.notify.backoff import Backoff
from reelflow.notify.sinks.memory import MemorySinks
from tests.unit.engine.fakes import FakeClock
from tests.unit.notify.harness import Harness, make_harness

BACKOFF = Backoff(base=1.0, cap=8.0, total=60.0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, max_attempts=2, video_preset="veryfast", job_timeout=60)


@pytest.fixture
def memory_sinks() -> MemorySinks:
    return MemorySinks()


@pytest.fixture
def harness(
    db: DbEngine, memory_sinks: MemorySinks, settings: Settings, clock: FakeClock
) -> Harness:
    """Everything on the fake clock; jitter factor 1 (delays are their nominal value)."""
    return make_harness(
        db, memory_sinks, settings=settings, backoff=BACKOFF, clock=clock, rand=lambda: 1.0
    )
