"""Commands that read ``reelflow.toml`` fail the same way on bad settings: exit 2, one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # Only the file under test configures the command: no REELFLOW_* from the caller.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "reelflow.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.fixture
def bad_data_dir(tmp_path: Path) -> Path:
    (tmp_path / "reelflow.toml").write_text("workers = 0\n")
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        ("keys", "list"),
        ("keys", "create", "acme"),
        ("keys", "revoke", "nope"),
        ("doctor",),
        ("serve", "--port", "0"),
        ("worker",),
    ],
    ids=" ".join,
)
def test_bad_config_file_exits_2_naming_the_field(
    bad_data_dir: Path, command: tuple[str, ...]
) -> None:
    proc = run_cli(*command, "--data-dir", str(bad_data_dir))
    assert proc.returncode == 2, proc.stderr
    assert "workers" in proc.stderr
    assert str(bad_data_dir / "reelflow.toml") in proc.stderr
    assert proc.stderr.startswith("reelflow: invalid settings")
    assert "Traceback" not in proc.stderr
    assert "ValidationError" not in proc.stderr
    # Nothing was created: the command stopped before touching the data dir.
    assert sorted(p.name for p in bad_data_dir.iterdir()) == ["reelflow.toml"]


def test_unparsable_config_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "reelflow.toml").write_text("workers = \n")
    for command in (("keys", "list"), ("doctor",)):
        proc = run_cli(*command, "--data-dir", str(tmp_path))
        assert proc.returncode == 2, proc.stderr
        assert "reelflow.toml" in proc.stderr
        assert "Traceback" not in proc.stderr
