"""Fixtures shared by all tests. Keep them generic; area-specific ones live near their tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clips import ClipCache, ffmpeg_binary


@pytest.fixture(scope="session")
def ffmpeg_bin() -> Path:
    """The FFmpeg binary, found the way the service finds it (REELFLOW_FFMPEG first)."""
    return ffmpeg_binary()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory, ffmpeg_bin: Path) -> ClipCache:
    """Makes tiny lavfi clips once per session: ``clips(rotation=90)`` -> Path."""
    return ClipCache(tmp_path_factory.mktemp("clips"), ffmpeg_bin)
