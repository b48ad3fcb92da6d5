"""Engine fixtures: fake planner and runner over the shared database (``db`` is a fixture of
tests/conftest.py; ``clock`` and the catalog's accounts, buckets, templates and workflows are
fixtures of tests/unit/conftest.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import SubTask, Task
from reelflow.db.session import session_factory
from reelflow.engine.service import Engine
from tests.unit.engine.fakes import FakeClock, FakePlanner, ScriptedRunner


class FinishRecorder:
    """An observer recording every task finish, the way the outbox does (inside the
    transaction)."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, str]] = []

    def task_started(self, session: Session, task: Task) -> None:
        pass

    def subtasks_finished(self, session: Session, task: Task, subtasks: Sequence[SubTask]) -> None:
        pass

    def task_finished(self, session: Session, task: Task) -> None:
        assert session.in_transaction()
        self.finished.append((task.id, task.state.value))


class RecordingEngine(Engine):
    """An engine whose observer is a ``FinishRecorder``: ``finished`` lists its task finishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorder = FinishRecorder()
        self.observer = self.recorder

    @property
    def finished(self) -> list[tuple[str, str]]:
        return self.recorder.finished


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        lease_seconds=30,
        max_attempts=3,
        video_preset="veryfast",
        job_timeout=120,
        ffmpeg_threads=1,
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
    return RecordingEngine(session_factory(db), planner, settings, clock=clock)
