"""The log of the long-running commands (``serve``, ``worker``): one format, and the
libraries' routine chatter kept out of it, so that what reelflow says (an upload and the
tasks it started, a workflow made, a trigger started) is what a reader sees."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that log at INFO what is routine here; their warnings and errors still show.
QUIET = (
    "watchfiles",  # each batch of changes the folder watcher sees: several lines per upload
    "alembic.runtime.plugins",  # a line per Alembic plug-in at every start
)


def configure_logging(level: int | str = logging.INFO) -> None:
    """Log to stderr at ``level``; at INFO and above, :data:`QUIET` loggers say only
    warnings and errors (at DEBUG everything is shown)."""
    logging.basicConfig(level=level, format=FORMAT)
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
