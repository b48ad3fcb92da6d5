"""Where ``reelflow process`` keeps its scratch folder: where its outputs can be renamed
into the output folder, not copied."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from reelflow.cli.process import scratch_parent


def test_the_temporary_folder_when_on_the_output_folder_s_file_system() -> None:
    same = Path(tempfile.mkdtemp())
    try:
        assert scratch_parent(same) is None
    finally:
        same.rmdir()


def test_the_output_folder_when_the_temporary_folder_is_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system to put the temporary folder on")
    monkeypatch.setattr(tempfile, "tempdir", str(other))
    assert scratch_parent(tmp_path) == tmp_path


def test_a_missing_output_folder_keeps_the_temporary_folder(tmp_path: Path) -> None:
    assert scratch_parent(tmp_path / "missing") is None
