"""The stream players the console serves: hls.js and dash.js, from the npm registry.

They are not in the Python package: ``make players`` runs ``npm ci`` on the checkout's
``package.json`` and ``package-lock.json`` (which pin their versions), filling
``node_modules/``. The console serves the few files a page loads from that folder at
``/console/players/{name}`` (same origin, so the pages' Content-Security-Policy allows them:
never a CDN). The folder is the setting ``player_dir`` (``REELFLOW_PLAYER_DIR``); unset, it
is the checkout's own ``node_modules`` (a source or editable install). A page with a stream
and no players says how to install them (:data:`INSTALL_HINT`).

Whether they are installed is looked up on each page, so ``make players`` on a running
server needs no restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Name served under /console/players/ -> its path in node_modules (the npm package first).
FILES = {
    "hls.min.js": "hls.js/dist/hls.min.js",
    "hls.worker.js": "hls.js/dist/hls.worker.js",
    "dash.mediaplayer.min.js": "dashjs/dist/modern/umd/dash.mediaplayer.min.js",
}
INSTALL_HINT = "make players"
STREAM_SUFFIXES = (".m3u8", ".mpd")


def checkout_modules() -> Path:
    """``node_modules`` beside ``pyproject.toml`` when reelflow runs from its checkout
    (``src/reelflow/console/players.py`` -> the checkout)."""
    return Path(__file__).resolve().parents[3] / "node_modules"


def stream_format(key: str) -> str | None:
    """``"hls"`` or ``"dash"`` for a playlist or an MPD, else None."""
    lowered = key.lower()
    if lowered.endswith(".m3u8"):
        return "hls"
    if lowered.endswith(".mpd"):
        return "dash"
    return None


@dataclass(frozen=True)
class Players:
    """The player files under ``folder`` (a ``node_modules`` folder)."""

    folder: Path

    @classmethod
    def configured(cls, player_dir: Path | None) -> Players:
        return cls(player_dir if player_dir is not None else checkout_modules())

    def path(self, name: str) -> Path | None:
        """The file served as ``name``, if it is one of :data:`FILES` and is installed."""
        relative = FILES.get(name)
        if relative is None:
            return None
        found = self.folder / relative
        return found if found.is_file() else None

    @property
    def installed(self) -> bool:
        return all(self.path(name) is not None for name in FILES)

    def versions(self) -> dict[str, str]:
        """The installed npm packages' versions (``{"hls.js": "1.7.4", ...}``)."""
        found: dict[str, str] = {}
        for package in sorted({relative.split("/dist/")[0] for relative in FILES.values()}):
            try:
                manifest = json.loads((self.folder / package / "package.json").read_text())
            except (OSError, ValueError):
                continue
            found[package] = str(manifest.get("version", "?"))
        return found
