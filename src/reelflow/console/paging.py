"""Reading every page of a paged listing, for pages that show a whole list."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

Fetch = Callable[[int, int], tuple[list[T], int]]
"""``fetch(offset, limit)``: one page, and how many match in all (the services' ``list``)."""


def every_page(fetch: Fetch[T], *, page_size: int, cap: int | None = None) -> list[T]:
    """Every item ``fetch`` pages through, at most ``cap`` of them (all if ``None``), one
    call per ``page_size`` items."""
    found: list[T] = []
    while cap is None or len(found) < cap:
        limit = page_size if cap is None else min(page_size, cap - len(found))
        page, total = fetch(len(found), limit)
        found += page
        if not page or len(found) >= total:
            break
    return found
