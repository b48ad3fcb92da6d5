"""The root command loads its subcommands lazily, and says the same as if it did not."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from reelflow.cli.main import COMMANDS, app

HEAVY = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "celery", "boto3", "httpx", "av")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_summary_is_the_commands_own(name: str) -> None:
    """``reelflow --help`` lists each command by the first paragraph of its own help."""
    command = COMMANDS[name].load(name)
    assert command.name == name
    assert (command.help or "").split("\n\n")[0] == COMMANDS[name].summary


def test_every_command_is_listed() -> None:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    assert isinstance(group, typer.core.TyperGroup)
    assert group.list_commands(ctx) == list(COMMANDS)


def test_help_imports_no_subcommand() -> None:
    code = (
        "import sys\n"
        "from reelflow.cli.main import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "process" in proc.stdout and "events" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"
