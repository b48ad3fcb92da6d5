"""The ``reelflow`` command."""

from __future__ import annotations

import typer

from reelflow.cli.demo import demo_command
from reelflow.cli.doctor import doctor_command
from reelflow.cli.events import events_app
from reelflow.cli.keys import keys_app
from reelflow.cli.process import process_command
from reelflow.cli.remote import submit_command, task_command
from reelflow.cli.serve import serve_command
from reelflow.cli.worker import worker_command

app = typer.Typer(
    name="reelflow",
    help="Self-hosted media processing: workflows, transcodes, screenshots, sprites, GIFs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("process")(process_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.command("submit")(submit_command)
app.command("task")(task_command)
app.command("doctor")(doctor_command)
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")


@app.callback()
def main() -> None:
    """reelflow: process media files through workflows."""


if __name__ == "__main__":
    app()
