"""Custom templates, and the presets beside them, as each account sees them.

Presets (``reelflow.presets``) are shared and read-only; custom templates belong to one
account and are numbered from ``CUSTOM_ID_START`` up, one sequence for every kind. Another
account's custom template is reported exactly like a missing one. A template that one of the
account's workflows uses cannot be deleted; tasks keep a copy of the templates they resolved,
so changing or deleting a template never changes a task already submitted.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.models import CustomTemplate, Schedule, Workflow
from reelflow.db.session import transaction
from reelflow.errors import LimitExceeded, SpecError, TemplateInUse, TemplateNotFound
from reelflow.presets.catalog import Preset, get_preset, is_preset, list_presets
from reelflow.presets.lookup import ChainLookup, PresetLookup, TemplateLookup
from reelflow.specs.schedules import ScheduleSpec
from reelflow.specs.template_kinds import TEMPLATE_MODELS, Template
from reelflow.specs.templates import TRUSTED, TemplateKind
from reelflow.specs.workflows import WorkflowSpec, template_references

TemplateType = Literal["Preset", "Custom"]

QUOTAS: dict[TemplateKind, int] = {
    TemplateKind.TRANSCODE: 1000,
    TemplateKind.WATERMARK: 1000,
    TemplateKind.SNAPSHOT: 16,
    TemplateKind.SAMPLE_SNAPSHOT: 16,
    TemplateKind.IMAGE_SPRITE: 16,
    TemplateKind.ANIMATED_GRAPHICS: 16,
    TemplateKind.ADAPTIVE: 100,
}
"""Custom templates per account and kind (the compatible API's quotas)."""

PRESETS_CREATED = datetime(2025, 1, 1, tzinfo=UTC)
"""The creation and update time shown for every preset."""

MAX_PAGE = 100
MAX_DEFINITIONS = 100


@dataclass(frozen=True)
class TemplateRecord:
    definition: int
    kind: TemplateKind
    type: TemplateType
    name: str
    comment: str
    template: Template
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of_preset(cls, preset: Preset) -> TemplateRecord:
        return cls(
            definition=preset.definition,
            kind=preset.kind,
            type="Preset",
            name=preset.name,
            comment=preset.template.comment,
            template=preset.template,
            created_at=PRESETS_CREATED,
            updated_at=PRESETS_CREATED,
        )

    @classmethod
    def of_row(cls, row: CustomTemplate) -> TemplateRecord:
        return cls(
            definition=row.definition,
            kind=row.kind,
            type="Custom",
            name=row.name,
            comment=row.comment,
            template=_load(row.kind, row),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _load(kind: TemplateKind, row: CustomTemplate) -> Template:
    # Stored bodies were valid when written; TRUSTED keeps them loadable if a later release
    # narrows a user-facing range.
    return TEMPLATE_MODELS[kind].model_validate(row.body, context=TRUSTED)


def _check_model(kind: TemplateKind, template: Template) -> None:
    model = TEMPLATE_MODELS[kind]
    if type(template) is not model:
        raise SpecError(
            f"a {kind.value} template must be a {model.__name__}, got {type(template).__name__}",
            field="kind",
        )


def _not_found(kind: TemplateKind, definition: int) -> TemplateNotFound:
    return TemplateNotFound(f"no {kind.value} template with definition {definition}")


class _CustomLookup:
    """One account's custom templates; remembers what it read (it lives for one request)."""

    def __init__(self, sessions: sessionmaker[Session], account_id: int) -> None:
        self._sessions = sessions
        self._account_id = account_id
        self._seen: dict[tuple[TemplateKind, int], Template | None] = {}

    def get(self, kind: TemplateKind, definition: int) -> Template | None:
        if (kind, definition) not in self._seen:
            with transaction(self._sessions, write=False) as session:
                row = _find(session, self._account_id, kind, definition)
                self._seen[kind, definition] = None if row is None else _load(kind, row)
        return self._seen[kind, definition]


def _find(
    session: Session, account_id: int, kind: TemplateKind, definition: int
) -> CustomTemplate | None:
    return session.scalar(
        select(CustomTemplate).where(
            CustomTemplate.definition == definition,
            CustomTemplate.kind == kind,
            CustomTemplate.account_id == account_id,
        )
    )


class Templates:
    """``Templates(sessions)``: every method is one transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    def lookup(self, account_id: int | None) -> TemplateLookup:
        """Presets, then the account's custom templates (presets only for ``None``).

        Meant for one request: it caches what it reads.
        """
        if account_id is None:
            return PresetLookup()
        return ChainLookup(PresetLookup(), _CustomLookup(self._sessions, account_id))

    def create(self, account_id: int, kind: TemplateKind, template: Template) -> TemplateRecord:
        """Store a new custom template; ``LimitExceeded.TooMuchTemplate`` past the quota."""
        _check_model(kind, template)
        with transaction(self._sessions, write=True) as session:
            count = session.scalar(
                select(func.count())
                .select_from(CustomTemplate)
                .where(CustomTemplate.account_id == account_id, CustomTemplate.kind == kind)
            )
            if (count or 0) >= QUOTAS[kind]:
                raise LimitExceeded(
                    f"at most {QUOTAS[kind]} custom {kind.value} templates per account; "
                    "delete one first",
                    code="LimitExceeded.TooMuchTemplate",
                )
            now = self._clock()
            row = CustomTemplate(
                kind=kind,
                account_id=account_id,
                name=template.name,
                comment=template.comment,
                body=template.to_json(),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return TemplateRecord.of_row(row)

    def get(self, account_id: int, kind: TemplateKind, definition: int) -> TemplateRecord:
        """A preset or one of the account's templates; ``TemplateNotFound`` otherwise."""
        preset = _preset(kind, definition)
        if preset is not None:
            return TemplateRecord.of_preset(preset)
        with transaction(self._sessions, write=False) as session:
            row = _find(session, account_id, kind, definition)
            if row is None:
                raise _not_found(kind, definition)
            return TemplateRecord.of_row(row)

    def update(
        self, account_id: int, kind: TemplateKind, definition: int, template: Template
    ) -> TemplateRecord:
        """Replace a custom template whole. Presets: ``ModifyDefaultTemplate``; a watermark
        keeps its type (a workflow using it was validated against that type).
        """
        _check_model(kind, template)
        if is_preset(kind, definition):
            raise SpecError(
                f"{kind.value} template {definition} is a system preset: it cannot be modified",
                code="InvalidParameterValue.ModifyDefaultTemplate",
                field="definition",
            )
        with transaction(self._sessions, write=True) as session:
            row = _find(session, account_id, kind, definition)
            if row is None:
                raise _not_found(kind, definition)
            old_type = row.body.get("type")
            new_type = getattr(template, "type", old_type)
            if kind is TemplateKind.WATERMARK and new_type != old_type:
                raise SpecError(
                    f"watermark template {definition} is of type {old_type!r}; "
                    "the type cannot change (create a new template)",
                    code="InvalidParameterValue.Type",
                    field="type",
                )
            row.name = template.name
            row.comment = template.comment
            row.body = template.to_json()
            row.updated_at = self._clock()
            return TemplateRecord.of_row(row)

    def delete(self, account_id: int, kind: TemplateKind, definition: int) -> None:
        """Delete a custom template. Presets: ``DeleteDefaultTemplate``; one in use by a
        workflow or schedule of the account: ``TemplateInUse`` naming the workflow.
        """
        if is_preset(kind, definition):
            raise SpecError(
                f"{kind.value} template {definition} is a system preset: it cannot be deleted",
                code="InvalidParameterValue.DeleteDefaultTemplate",
                field="definition",
            )
        with transaction(self._sessions, write=True) as session:
            row = _find(session, account_id, kind, definition)
            if row is None:
                raise _not_found(kind, definition)
            workflows = select(Workflow).where(Workflow.account_id == account_id)
            for workflow in session.scalars(workflows.order_by(Workflow.id)):
                spec = WorkflowSpec.model_validate(workflow.spec, context=TRUSTED)
                if (kind, definition) in template_references(spec.media_process_task):
                    raise TemplateInUse(
                        f"{kind.value} template {definition} is used by workflow "
                        f"{workflow.id} ({workflow.name!r}); change or delete the workflow "
                        "first"
                    )
            schedules = select(Schedule).where(Schedule.account_id == account_id)
            for schedule in session.scalars(schedules.order_by(Schedule.id)):
                used = ScheduleSpec.model_validate(schedule.spec, context=TRUSTED)
                if (kind, definition) in template_references(used.media_process_task):
                    raise TemplateInUse(
                        f"{kind.value} template {definition} is used by schedule "
                        f"{schedule.id} ({schedule.name!r}); change or delete the schedule "
                        "first"
                    )
            session.delete(row)

    def list(
        self,
        account_id: int,
        kind: TemplateKind | None = None,
        type: TemplateType | None = None,
        definitions: Iterable[int] | None = None,
        name: str | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[builtins.list[TemplateRecord], int]:
        """One page of presets then custom templates (oldest first), and the total number
        that match. ``name`` matches exactly.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise SpecError(f"limit must be 1..{MAX_PAGE}, got {limit}", field="limit")
        if offset < 0:
            raise SpecError(f"offset must be >= 0, got {offset}", field="offset")
        wanted = None if definitions is None else set(definitions)
        if wanted is not None and len(wanted) > MAX_DEFINITIONS:
            raise SpecError(f"at most {MAX_DEFINITIONS} definitions per query", field="definitions")
        presets = []
        if type in (None, "Preset"):
            presets = [
                p
                for p in list_presets(kind)
                if (wanted is None or p.definition in wanted) and (name is None or p.name == name)
            ]
        records = [TemplateRecord.of_preset(p) for p in presets[offset : offset + limit]]
        if type == "Preset":
            return records, len(presets)
        query: Select[CustomTemplate] = select(CustomTemplate).where(
            CustomTemplate.account_id == account_id
        )
        if kind is not None:
            query = query.where(CustomTemplate.kind == kind)
        if wanted is not None:
            query = query.where(CustomTemplate.definition.in_(wanted))
        if name is not None:
            query = query.where(CustomTemplate.name == name)
        with transaction(self._sessions, write=False) as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rest = limit - len(records)
            if rest > 0:
                page = query.order_by(CustomTemplate.definition)
                page = page.offset(max(0, offset - len(presets))).limit(rest)
                records += [TemplateRecord.of_row(row) for row in session.scalars(page)]
        return records, len(presets) + total


def _preset(kind: TemplateKind, definition: int) -> Preset | None:
    if get_preset(kind, definition) is None:
        return None
    return next(p for p in list_presets(kind) if p.definition == definition)
