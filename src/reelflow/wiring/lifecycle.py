"""What every role's container shares: it owns the parts it was built with and closes them.

A builder registers each part's ``close`` on an ``ExitStack`` as it builds it, so the parts
close in reverse order, and a builder that fails half-way closes what it had built.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self, TypeVar

T = TypeVar("T", bound="Owned")


@dataclass(frozen=True, kw_only=True)
class Owned:
    """A role's services; ``close()`` (idempotent) releases them, last built first."""

    closer: ExitStack = field(repr=False, compare=False)

    def close(self) -> None:
        self.closer.close()  # an ExitStack unwinds once: a second close does nothing

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def build_owned(build: Callable[[ExitStack], T]) -> T:
    """``build(stack)``: a role's container; if it raises, what it had registered on
    ``stack`` is closed."""
    stack = ExitStack()
    try:
        return build(stack)
    except BaseException:
        stack.close()
        raise
