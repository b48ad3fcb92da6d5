"""What the console keeps on ``app.state.console``: its session cookie codec, its pages,
the dashboard's reads and the stream players' folder."""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.console.pages import Pages
from reelflow.console.players import Players
from reelflow.console.session import Sessions
from reelflow.console.stats import DashboardStats


@dataclass(frozen=True)
class ConsoleState:
    sessions: Sessions
    pages: Pages
    stats: DashboardStats
    players: Players
