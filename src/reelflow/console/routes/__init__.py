"""The console's routers, one per area; all use ``ConsoleRoute`` and live under /console."""
