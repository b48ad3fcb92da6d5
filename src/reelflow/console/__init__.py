"""The web console at ``/console``: server-rendered pages (Jinja2 + htmx) for admins.

    routes/auth.py        sign in with an API key's secret; sign out
    routes/dashboard.py   tasks by state, recent failures, throughput, executor slots
    routes/workflows.py   list; create and edit with a form; enable, disable, delete
    routes/templates.py   presets and custom templates by kind; create, edit, delete
    routes/buckets.py     browse by folder; delete; run a workflow on one object
    routes/objects.py     drag-and-drop uploads and Range downloads through the session
    routes/tasks.py       list with live progress; one task as a diagram with its outputs
    routes/play.py        HLS/DASH playback (hls.js, dash.js from ``make players``: players.py)

Sessions are a signed cookie (``session``), every form carries a CSRF token (``deps``),
and errors are pages (``routing.ConsoleRoute``). A sibling of ``reelflow.api``, never
importing it: ``reelflow.wiring.http`` calls ``install_console(app, data_dir=..., stats=...)``
to mount it on the same app (``GET /`` sends browsers here: ``reelflow.api.mps.router``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from reelflow.console.pages import Pages
from reelflow.console.players import Players
from reelflow.console.routes import (
    auth,
    buckets,
    dashboard,
    objects,
    play,
    tasks,
    templates,
    workflows,
)
from reelflow.console.session import Sessions
from reelflow.console.signing import Signer, load_secret
from reelflow.console.state import ConsoleState
from reelflow.console.stats import DashboardStats

STATIC = Path(__file__).parent / "static"

__all__ = ["install_console"]


def install_console(
    app: FastAPI, *, data_dir: Path, stats: DashboardStats, player_dir: Path | None = None
) -> None:
    """Mount the console on ``app`` (whose ``state`` holds the services): its routes and its
    static files under ``/console/static``. The session key is kept in ``data_dir``;
    ``stats`` feeds the dashboard; ``player_dir`` holds hls.js and dash.js (``players``)."""
    sessions = Sessions(Signer(load_secret(data_dir), "console-session"))
    app.state.console = ConsoleState(
        sessions=sessions,
        pages=Pages(sessions, app.version),
        stats=stats,
        players=Players.configured(player_dir),
    )
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (auth, dashboard, workflows, templates, buckets, objects, play, tasks):
        app.include_router(module.router)
