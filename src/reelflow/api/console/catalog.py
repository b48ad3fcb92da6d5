"""The templates an account can choose from, by kind (presets first, then its own)."""

from __future__ import annotations

from reelflow.engine.templates import MAX_PAGE, TemplateRecord
from reelflow.runtime import Runtime
from reelflow.specs.templates import TemplateKind
from reelflow.specs.units import AUDIO_ONLY_CONTAINERS

MAX_TEMPLATES = 2000  # a form lists at most this many of one kind


def templates_of(runtime: Runtime, account_id: int, kind: TemplateKind) -> list[TemplateRecord]:
    found: list[TemplateRecord] = []
    while len(found) < MAX_TEMPLATES:
        page, total = runtime.templates_service.list(
            account_id, kind=kind, offset=len(found), limit=MAX_PAGE
        )
        found += page
        if not page or len(found) >= total:
            break
    return found


def _transcode_order(record: TemplateRecord) -> tuple[bool, int, int]:
    """The account's own first, then video renditions (MP4 before HLS), then audio."""
    template = record.template
    container = getattr(template, "container", "")
    group = 2 if container in AUDIO_ONLY_CONTAINERS else 1 if container == "hls" else 0
    return record.type == "Preset", group, record.definition


def choices(runtime: Runtime, account_id: int) -> dict[str, list[TemplateRecord]]:
    """Every kind's templates, keyed by ``TemplateKind`` value (for the workflow form)."""
    found = {kind.value: templates_of(runtime, account_id, kind) for kind in TemplateKind}
    found[TemplateKind.TRANSCODE.value].sort(key=_transcode_order)
    return found
