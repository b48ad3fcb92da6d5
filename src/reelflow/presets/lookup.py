"""Where template definitions are looked up: the presets, custom templates, or a chain.

The contract is ``TemplateLookup.get``; the service adds a database-backed lookup for custom
templates and chains it after ``PresetLookup``. ``MemoryLookup`` is the in-memory fake that
unit tests use in its place.
"""

from __future__ import annotations

from typing import Protocol

from reelflow.presets.catalog import get_preset
from reelflow.specs.template_kinds import Template
from reelflow.specs.templates import TemplateKind


class TemplateLookup(Protocol):
    def get(self, kind: TemplateKind, definition: int) -> Template | None:
        """The template ``definition`` of ``kind``, or None when this lookup has none.

        Must not raise for an unknown definition; the caller turns None into its
        not-found error.
        """
        ...


class PresetLookup:
    """The read-only system presets."""

    def get(self, kind: TemplateKind, definition: int) -> Template | None:
        return get_preset(kind, definition)


class MemoryLookup:
    """Custom templates held in a dict (a fake for tests, and a seed for tools)."""

    def __init__(self) -> None:
        self._templates: dict[tuple[TemplateKind, int], Template] = {}

    def add(self, kind: TemplateKind, definition: int, template: Template) -> None:
        self._templates[kind, definition] = template

    def get(self, kind: TemplateKind, definition: int) -> Template | None:
        return self._templates.get((kind, definition))


class ChainLookup:
    """Asks each lookup in turn; the first that knows the definition wins."""

    def __init__(self, *lookups: TemplateLookup) -> None:
        self._lookups = lookups

    def get(self, kind: TemplateKind, definition: int) -> Template | None:
        for lookup in self._lookups:
            template = lookup.get(kind, definition)
            if template is not None:
                return template
        return None
