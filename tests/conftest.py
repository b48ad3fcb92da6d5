"""Fixtures shared by all tests. Keep them generic; area-specific ones live near their tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.db.session import create_db_engine, migrate
from tests.clips import ClipCache, ffmpeg_binary


@pytest.fixture(scope="session")
def ffmpeg_bin() -> Path:
    """The FFmpeg binary, found the way the service finds it (REELFLOW_FFMPEG first)."""
    return ffmpeg_binary()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory, ffmpeg_bin: Path) -> ClipCache:
    """Makes tiny lavfi clips once per session: ``clips(rotation=90)`` -> Path."""
    return ClipCache(tmp_path_factory.mktemp("clips"), ffmpeg_bin)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[DbEngine]:
    """A migrated SQLite database in ``tmp_path``."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'reelflow.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
