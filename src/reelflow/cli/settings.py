"""Settings for the commands that read ``reelflow.toml``: one way to load them and fail."""

from __future__ import annotations

from pathlib import Path

import typer

from reelflow.config import Settings, load_settings
from reelflow.errors import ConfigError

EXIT_CONFIG = 2


def settings_or_exit(data_dir: Path | None = None) -> Settings:
    """:func:`load_settings` (with ``data_dir`` when given); on a ``ConfigError``, print
    ``reelflow: <message>`` (naming the offending keys and the file) and exit 2."""
    try:
        return load_settings() if data_dir is None else load_settings(data_dir=data_dir)
    except ConfigError as exc:
        typer.echo(f"reelflow: {exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
