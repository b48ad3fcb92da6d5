"""Regions in answers: reelflow stores bucket names only, the compatible API shows a
``Region`` beside every ``Bucket``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def fill_regions(document: Any, region_of: Callable[[str], str]) -> Any:
    """``document`` with every empty ``Region`` beside a ``Bucket`` set to
    ``region_of(bucket)``."""
    if isinstance(document, list):
        return [fill_regions(item, region_of) for item in document]
    if not isinstance(document, dict):
        return document
    filled = {key: fill_regions(value, region_of) for key, value in document.items()}
    name = filled.get("Bucket")
    if isinstance(name, str) and name and filled.get("Region") == "":
        filled["Region"] = region_of(name)
    return filled
