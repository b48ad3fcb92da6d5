"""``reelflow doctor``: is this machine ready to process media?"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Annotated

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from reelflow.cli.settings import settings_or_exit
from reelflow.config import Settings
from reelflow.db.session import alembic_config, create_db_engine
from reelflow.errors import ReelflowError
from reelflow.media.ffmpeg import ffmpeg_version, find_ffmpeg
from reelflow.runtime import default_storages

REQUIRED_ENCODERS = ("libx264", "aac", "mjpeg", "png", "gif")
OPTIONAL_ENCODERS = ("libx265", "libvpx-vp9", "libsvtav1", "libmp3lame", "libopus", "libwebp")


def _encoders(ffmpeg: Path) -> set[str]:
    out = subprocess.run(
        [str(ffmpeg), "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return names


def check_ffmpeg(settings: Settings, console: Console) -> bool:
    try:
        ffmpeg = find_ffmpeg(settings.ffmpeg)
    except ReelflowError as exc:
        console.print(f"[red]✗ FFmpeg[/red]: {exc.message}")
        return False
    names = _encoders(ffmpeg)
    missing = [e for e in REQUIRED_ENCODERS if e not in names]
    optional = [e for e in OPTIONAL_ENCODERS if e not in names]
    ok = not missing
    mark = "[green]✓" if ok else "[red]✗"
    console.print(f"{mark} FFmpeg[/]: {ffmpeg} ({ffmpeg_version(ffmpeg)})")
    present = [e for e in (*REQUIRED_ENCODERS, *OPTIONAL_ENCODERS) if e in names]
    console.print(f"  encoders: {', '.join(present)}")
    if missing:
        console.print(f"  [red]missing required encoders: {', '.join(missing)}[/red]")
    if optional:
        console.print(f"  [yellow]missing optional encoders: {', '.join(optional)}[/yellow]")
    return ok


def check_database(settings: Settings, console: Console) -> bool:
    url = settings.resolved_database_url()
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    except SQLAlchemyError as exc:
        console.print(f"[red]✗ database[/red]: cannot connect to {engine.url!r}: {exc}")
        return False
    finally:
        engine.dispose()
    if current != head:
        console.print(
            f"[red]✗ database[/red]: {engine.url!r} is at migration {current}, the code needs "
            f"{head}; `reelflow serve` migrates on start"
        )
        return False
    console.print(f"[green]✓ database[/green]: {engine.url!r} (migration {current})")
    return True


def check_buckets(settings: Settings, console: Console) -> bool:
    ok = True
    registry = default_storages(settings)
    for name in registry.names():
        storage = registry.get(name)
        key = f".doctor/{uuid.uuid4().hex}"
        try:
            storage.put_bytes(key, b"reelflow doctor")
            storage.delete(key)
            console.print(f"[green]✓ bucket {name}[/green]: writable")
        except ReelflowError as exc:
            ok = False
            console.print(f"[red]✗ bucket {name}[/red]: {exc.message}")
    return ok


def doctor_command(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The data dir.")] = None,
) -> None:
    """Check FFmpeg and its encoders, the database and its migrations, and the buckets."""
    settings = settings_or_exit(data_dir)
    console = Console()
    results = [
        check_ffmpeg(settings, console),
        check_database(settings, console),
        check_buckets(settings, console),
    ]
    raise typer.Exit(0 if all(results) else 1)
