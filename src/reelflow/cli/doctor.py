"""``reelflow doctor``: is this machine ready to process media?

It only looks: it never creates or changes anything (no data dir, no database file, no
bucket folder, no test object). It checks FFmpeg and its encoders, the database and its
migration, the buckets, and the server that the client commands would talk to (found as
``reelflow.cli.client`` describes).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.console import Console
from sqlalchemy import create_engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from reelflow.cli.client import DataDirOption, KeyOption, UrlOption, find_server
from reelflow.cli.settings import settings_or_exit
from reelflow.config import Settings
from reelflow.config.buckets import LocalBucketConfig
from reelflow.db.models import Bucket
from reelflow.db.session import alembic_config
from reelflow.errors import ReelflowError
from reelflow.media.ffmpeg import ffmpeg_version, find_ffmpeg
from reelflow.storage.registry import bucket_configs, build_storage

REQUIRED_ENCODERS = ("libx264", "aac", "mjpeg", "png", "gif")
OPTIONAL_ENCODERS = ("libx265", "libvpx-vp9", "libsvtav1", "libmp3lame", "libopus", "libwebp")
SERVER_TIMEOUT = 5.0


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


def _read_only_url(settings: Settings) -> str | None:
    """The database URL opened read-only; ``None`` for a SQLite file that does not exist
    (connecting would create it)."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() != "sqlite":
        return url.render_as_string(hide_password=False)
    path = Path(url.database or "")
    if not path.is_file():
        return None
    # mode=ro: SQLite neither creates the file nor writes to it (no WAL switch either).
    return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"


def _shown(settings: Settings) -> str:
    """The database as a person names it: a SQLite file's path (not the read-only URI doctor
    opens), else the URL with its password hidden."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite":
        return f"SQLite {Path(url.database or '').resolve()}"
    return url.render_as_string(hide_password=True)


def check_database(settings: Settings, console: Console) -> tuple[bool, list[tuple[str, str]]]:
    """(ok, the local buckets created through the API: name and folder)."""
    url = _read_only_url(settings)
    shown = _shown(settings)
    if url is None:
        where = settings.data_dir.resolve() / "reelflow.db"
        console.print(
            f"[yellow]· database[/yellow]: none yet at {where} (`reelflow serve` creates and "
            "migrates it)"
        )
        return True, []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            created: list[tuple[str, str]] = []
            if current is not None:
                rows = conn.execute(
                    select(Bucket.name, Bucket.path).where(Bucket.backend == "local")
                )
                created = [(name, path) for name, path in rows if path]
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    except SQLAlchemyError as exc:
        console.print(f"[red]✗ database[/red]: cannot read {shown}: {exc}")
        return False, []
    finally:
        engine.dispose()
    if current != head:
        console.print(
            f"[red]✗ database[/red]: {shown} is at migration {current}, the code needs "
            f"{head}; `reelflow serve` migrates on start"
        )
        return False, created
    console.print(f"[green]✓ database[/green]: {shown} (migration {current})")
    return True, created


def _check_folder(name: str, root: Path, console: Console) -> bool:
    if not root.exists():
        console.print(
            f"[yellow]· bucket {name}[/yellow]: {root} does not exist yet (`reelflow serve` "
            "creates it)"
        )
        return True
    if not root.is_dir():
        console.print(f"[red]✗ bucket {name}[/red]: {root} is not a folder")
        return False
    if not os.access(root, os.W_OK | os.X_OK):
        console.print(f"[red]✗ bucket {name}[/red]: {root} is not writable by this user")
        return False
    console.print(f"[green]✓ bucket {name}[/green]: {root} (writable)")
    return True


def check_buckets(settings: Settings, created: list[tuple[str, str]], console: Console) -> bool:
    """Local buckets: their folder is writable (nothing is written); S3 buckets: reachable."""
    ok = True
    configs = bucket_configs(settings)
    for name, config in configs.items():
        if isinstance(config, LocalBucketConfig):
            root = config.path if config.path is not None else settings.data_dir / "buckets" / name
            ok = _check_folder(name, root.expanduser(), console) and ok
            continue
        try:
            storage = build_storage(name, config, settings)
            check = getattr(storage, "check", None)  # S3Storage.check: HeadBucket, a read
            region = check() if check is not None else ""
            console.print(f"[green]✓ bucket {name}[/green]: reachable (region {region or '-'})")
        except ReelflowError as exc:
            ok = False
            console.print(f"[red]✗ bucket {name}[/red]: {exc.message}")
    for name, path in created:
        if name not in configs:
            ok = _check_folder(name, Path(path), console) and ok
    return ok


def check_server(url: str | None, key: str | None, data_dir: Path | None, console: Console) -> bool:
    """The server the client commands would use: up, and accepting the key found. A server
    found by default (not named) that is not running is a note, not a failure."""
    try:
        server = find_server(url, key, data_dir, require_key=False)
    except ReelflowError as exc:
        console.print(f"[red]✗ server[/red]: {exc.message}")
        return False
    named = server.url_from in ("--url", "REELFLOW_URL")
    where = f"{server.url} (from {server.url_from})"
    try:
        with httpx.Client(base_url=server.url, timeout=SERVER_TIMEOUT) as http:
            health = http.get("/healthz")
            headers = {"Authorization": f"Bearer {server.key}"} if server.key else {}
            answer = http.get("/v1/workflows", params={"limit": 1}, headers=headers)
    except httpx.HTTPError as exc:
        mark = "[red]✗" if named else "[yellow]·"
        console.print(f"{mark} server[/]: not reachable at {where}: {exc}")
        return not named
    if health.status_code != 200:
        console.print(f"[red]✗ server[/red]: {where} answers /healthz with {health.status_code}")
        return False
    if not server.key:
        console.print(
            f"[yellow]· server[/yellow]: up at {where}; no API key found (--key, REELFLOW_KEY "
            "or the data dir's admin-key.json)"
        )
        return True
    if answer.status_code != 200:
        console.print(
            f"[red]✗ server[/red]: up at {where}, but the key from {server.key_from} is "
            f"refused (HTTP {answer.status_code})"
        )
        return False
    console.print(f"[green]✓ server[/green]: up at {where}; key from {server.key_from} accepted")
    return True


def doctor_command(
    url: UrlOption = None,
    key: KeyOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check FFmpeg and its encoders, the database and its migrations, the buckets and the
    server; changes nothing."""
    settings = settings_or_exit(data_dir)
    console = Console()
    results = [check_ffmpeg(settings, console)]
    if not settings.data_dir.is_dir() and not settings.database_url:
        console.print(
            f"[yellow]· data dir[/yellow]: {settings.data_dir.resolve()} does not exist; no "
            "database or buckets to check (`reelflow serve` creates it; --data-dir or "
            "REELFLOW_DATA_DIR names another)"
        )
    else:
        db_ok, created = check_database(settings, console)
        results += [db_ok, check_buckets(settings, created, console)]
    results.append(check_server(url, key, data_dir, console))
    raise typer.Exit(0 if all(results) else 1)
