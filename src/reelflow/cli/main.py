"""The ``reelflow`` command.

Each subcommand's module is imported only when that subcommand runs (or shows its own
help): ``reelflow process`` does not pay for the server's, the worker's or the HTTP
client's imports (FastAPI, uvicorn, Celery, httpx, Alembic), and ``reelflow --help``
imports none of them. The command list of ``reelflow --help`` therefore names each
command's summary here; tests/unit/cli/test_main.py checks it against the command's own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand: ``module:attribute`` (a Typer command function or a Typer app) and the
    first paragraph of its help, shown in ``reelflow --help``."""

    target: str
    summary: str

    def load(self, name: str) -> Any:
        """The click command of this subcommand, built by Typer as ``add_typer`` /
        ``command(name)`` would."""
        module, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            group = typer.main.get_group(obj)
            group.name = name
            return group
        single = typer.Typer(add_completion=False)
        single.command(name)(obj)
        return typer.main.get_command(single)


COMMANDS: dict[str, LazyCommand] = {
    "process": LazyCommand(
        "reelflow.cli.process:process_command",
        "Process one file through a workflow (default: renditions, screenshots, sprite, GIF).",
    ),
    "demo": LazyCommand(
        "reelflow.cli.demo:demo_command",
        "Generate a sample clip and run it through the default workflow (with a sprite sheet\n"
        "the short clip fills); list what was made and where.",
    ),
    "serve": LazyCommand(
        "reelflow.cli.serve:serve_command",
        "Run the service: REST API, scheduler, local executor and notification dispatcher.",
    ),
    "worker": LazyCommand(
        "reelflow.cli.worker:worker_command",
        "Run jobs from the cluster's broker (REELFLOW_BROKER_URL) against its database.",
    ),
    "submit": LazyCommand(
        "reelflow.cli.remote:submit_command",
        "Submit one file to a running server (the default workflow unless -w is given).",
    ),
    "task": LazyCommand("reelflow.cli.remote:task_command", "Show one task of a running server."),
    "doctor": LazyCommand(
        "reelflow.cli.doctor:doctor_command",
        "Check FFmpeg and its encoders, the database and its migrations, the buckets and the\n"
        "server; changes nothing.",
    ),
    "check-stream": LazyCommand(
        "reelflow.cli.checkstream:check_stream_command",
        "Check an HLS or DASH ladder: master and media playlists or the MPD, and every segment.",
    ),
    "keys": LazyCommand(
        "reelflow.cli.keys:keys_app", "Manage API keys (each belongs to one account)."
    ),
    "events": LazyCommand(
        "reelflow.cli.events:events_app", "Event notifications of a running server."
    ),
}


class LazyGroup(TyperGroup):
    """The root group: lists :data:`COMMANDS` by their summaries and imports a
    subcommand's module only when that subcommand is resolved to run."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, command in COMMANDS.items():
            self.commands[name] = TyperCommand(name=name, help=command.summary)
        self._loaded: set[str] = set()

    # ``ctx`` is Typer's vendored click context (``typer._click``, not a public name).
    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name = args[0] if args else ""
        if name in COMMANDS and name not in self._loaded:
            self.commands[name] = COMMANDS[name].load(name)
            self._loaded.add(name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="reelflow",
    cls=LazyGroup,
    help="Self-hosted media processing: workflows, transcodes, screenshots, sprites, GIFs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """reelflow: process media files through workflows."""


if __name__ == "__main__":
    app()
