"""What the console keeps on ``app.state.console``: its session cookie codec and pages."""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.console.pages import Pages
from reelflow.console.session import Sessions


@dataclass(frozen=True)
class ConsoleState:
    sessions: Sessions
    pages: Pages
