"""Engine fixtures: a migrated SQLite file, fake planner and runner, a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import Task
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.service import Engine
from tests.unit.engine.fakes import FakeClock, FakePlanner, ScriptedRunner


class RecordingEngine(Engine):
    """Records every task finish, the way the outbox will (inside the transaction)."""

    finished: list[tuple[str, str]]

    def _on_task_finished(self, session: Session, task: Task) -> None:
        assert session.in_transaction()
        self.finished.append((task.id, task.state.value))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[DbEngine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'reelflow.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


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
def clock() -> FakeClock:
    return FakeClock()


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
