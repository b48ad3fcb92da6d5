"""The ``sh`` blocks of a Markdown file (docs/api.md, README.md), which tests run as a
reader would paste them."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.M | re.S)
DEFAULT_URL = "http://127.0.0.1:8080"


def sh_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every ``sh`` block of ``path``, in order."""
    text = path.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def require_tools(doc: str, *tools: str) -> None:
    """Skip (fail under ``CI=true``) unless every one of ``tools`` is on ``PATH``."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        reason = f"{doc}'s examples need {', '.join(missing)} on PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
