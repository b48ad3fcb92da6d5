"""Engine fixtures: fake planner and runner over the shared database (``db`` is a fixture of
tests/conftest.py; ``clock`` and the catalog's accounts, buckets, templates and workflows are
fixtures of tests/unit/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import Task
from reelflow.db.session import session_factory
from reelflow.engine.service import Engine
from tests.unit.engine.fakes import FakeClock, FakePlanner, ScriptedRunner


class RecordingEngine(Engine):
    """Records every task finish, the way the outbox will (inside the transaction)."""

    finished: list[tuple[str, str]]

    def _on_task_finished(self, session: Session, task: Task) -> None:
        assert session.in_transaction()
        self.finished.append((task.id, task.state.value))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        lease_seconds=30,
        max_attempts=3,
        video_preset="veryfast",
        job_timeout=120,
    )


@pytest.fixture
def planner() -> FakePlanner:
    return FakePlanner()


@pytest.fixture
def runner() -> ScriptedRunner:
    return ScriptedRunner()


@pytest.fixture
def engine(
    db: DbEngine, planner: FakePlanner, settings: Settings, clock: FakeClock
) -> RecordingEngine:
    engine = RecordingEngine(session_factory(db), planner, settings, clock=clock)
    engine.finished = []
    return engine
