"""``reelflow keys create|list|revoke``: API keys in the local database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from reelflow.catalog.accounts import Accounts
from reelflow.cli.settings import settings_or_exit
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.errors import ReelflowError

keys_app = typer.Typer(help="Manage API keys (each belongs to one account).", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="The server's data dir.")]


@contextmanager
def _accounts(data_dir: Path | None) -> Iterator[Accounts]:
    settings = settings_or_exit(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.resolved_database_url())
    try:
        migrate(engine)
        yield Accounts(session_factory(engine))
    except ReelflowError as exc:
        Console(stderr=True).print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@keys_app.command("create")
def create(
    account: Annotated[str, typer.Argument(help="Account name (created if new).")],
    data_dir: DataDir = None,
) -> None:
    """Create a key; its secret is printed once, as JSON."""
    with _accounts(data_dir) as accounts:
        key = accounts.create_key(account)
    typer.echo(
        json.dumps(
            {"account": key.account.name, "secret_id": key.secret_id, "secret_key": key.secret_key}
        )
    )


@keys_app.command("list")
def list_keys(
    account: Annotated[str | None, typer.Option(help="Only this account's keys.")] = None,
    data_dir: DataDir = None,
) -> None:
    """List keys (never their secrets)."""
    with _accounts(data_dir) as accounts:
        keys = accounts.list_keys(account)
    table = Table()
    for column in ("secret id", "account", "created", "revoked"):
        table.add_column(column)
    for info in keys:
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else ""
        table.add_row(
            info.secret_id,
            info.account_name,
            info.created_at.isoformat(timespec="seconds"),
            revoked,
        )
    Console().print(table)


@keys_app.command("revoke")
def revoke(
    secret_id: Annotated[str, typer.Argument(help="The key's secret id.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: requests signed or authorized with it fail from now on."""
    with _accounts(data_dir) as accounts:
        accounts.revoke(secret_id)
    typer.echo(f"revoked {secret_id}")
