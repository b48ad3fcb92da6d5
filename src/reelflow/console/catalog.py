"""The templates an account can choose from, by kind (presets first, then its own)."""

from __future__ import annotations

from reelflow.catalog.templates import MAX_PAGE, TemplateRecord, Templates
from reelflow.console.paging import every_page
from reelflow.specs.templates import TemplateKind
from reelflow.specs.units import AUDIO_ONLY_CONTAINERS

MAX_TEMPLATES = 2000  # a form lists at most this many of one kind


def templates_of(
    templates: Templates, account_id: int, kind: TemplateKind | None
) -> list[TemplateRecord]:
    """The account's templates of ``kind`` (of every kind if ``None``), presets first, at
    most ``MAX_TEMPLATES`` of each kind asked for."""
    kinds = 1 if kind is not None else len(TemplateKind)
    return every_page(
        lambda offset, limit: templates.list(account_id, kind=kind, offset=offset, limit=limit),
        page_size=MAX_PAGE,
        cap=MAX_TEMPLATES * kinds,
    )


def _transcode_order(record: TemplateRecord) -> tuple[bool, int, int]:
    """The account's own first, then video renditions (MP4 before HLS), then audio."""
    template = record.template
    container = getattr(template, "container", "")
    group = 2 if container in AUDIO_ONLY_CONTAINERS else 1 if container == "hls" else 0
    return record.type == "Preset", group, record.definition


def choices(templates: Templates, account_id: int) -> dict[str, list[TemplateRecord]]:
    """Every kind's templates, keyed by ``TemplateKind`` value (for the workflow form).

    One listing of every kind (a few dozen presets and the account's own), grouped here:
    within a kind, the order is the one a listing of that kind alone has.
    """
    found: dict[str, list[TemplateRecord]] = {kind.value: [] for kind in TemplateKind}
    for record in templates_of(templates, account_id, None):
        found[record.kind.value].append(record)
    for records in found.values():
        del records[MAX_TEMPLATES:]
    found[TemplateKind.TRANSCODE.value].sort(key=_transcode_order)
    return found
