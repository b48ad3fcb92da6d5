"""Stored definitions bound to a trigger bucket: workflows and schedules.

Both live in a table of their own with the same columns (account, name unique per account,
enabled, trigger bucket, the spec's JSON, times) and the same life cycle: created disabled
unless asked, checked before every write, replaced whole (the enabled state kept), enabled
and disabled, deleted, listed a page at a time, and looked up by trigger bucket. What
differs is what they hold and how they are checked: a subclass says that
(:meth:`Definitions.validate`, :meth:`Definitions._record`) and names itself for errors.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.models import CustomTemplate, Schedule, Workflow
from reelflow.db.session import transaction
from reelflow.errors import ReelflowError, SpecError
from reelflow.presets.catalog import CUSTOM_ID_START
from reelflow.specs.workflows import WorkflowSpec, template_references

MAX_PAGE = 100
MAX_IDS = 100

RowT = TypeVar("RowT", Workflow, Schedule)
RecordT = TypeVar("RecordT")
SpecT = TypeVar("SpecT", bound=WorkflowSpec)


class Definitions(Generic[RowT, RecordT, SpecT]):
    """The shared life cycle; every method is one transaction. A subclass sets ``model``
    (its table), ``noun`` (``"workflow"``), ``not_found`` (the error of an unknown id)
    and ``name_code`` (the error code of a taken name)."""

    model: ClassVar[type[Workflow] | type[Schedule]]
    noun: ClassVar[str]
    not_found: ClassVar[type[ReelflowError]]
    name_code: ClassVar[str]

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- what a subclass says -------------------------------------------------------------

    def validate(self, account_id: int, spec: SpecT) -> None:
        """``SpecError`` naming the field if ``spec`` cannot run for ``account_id``."""
        raise NotImplementedError

    def _record(self, row: RowT) -> RecordT:
        raise NotImplementedError

    # -- the life cycle -------------------------------------------------------------------

    def create(self, account_id: int, spec: SpecT, *, enabled: bool = False) -> RecordT:
        self.validate(account_id, spec)
        with transaction(self._sessions, write=True) as session:
            self._check_name(session, account_id, spec.name, None)
            check_templates_still_exist(session, account_id, spec)
            now = self._clock()
            row: RowT = self.model(  # type: ignore[assignment]
                account_id=account_id,
                name=spec.name,
                enabled=enabled,
                trigger_bucket=spec.trigger.bucket,
                spec=spec.to_json(),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return self._record(row)

    def get(self, account_id: int, definition_id: int) -> RecordT:
        with transaction(self._sessions, write=False) as session:
            return self._record(self._find(session, account_id, definition_id))

    def replace(self, account_id: int, definition_id: int, spec: SpecT) -> RecordT:
        """Replace the whole definition (a caller merges first); the enabled state is kept."""
        self.validate(account_id, spec)
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_id, definition_id)
            self._check_name(session, account_id, spec.name, definition_id)
            check_templates_still_exist(session, account_id, spec)
            row.name = spec.name
            row.trigger_bucket = spec.trigger.bucket
            row.spec = spec.to_json()
            row.updated_at = self._clock()
            return self._record(row)

    def delete(self, account_id: int, definition_id: int) -> None:
        with transaction(self._sessions, write=True) as session:
            session.delete(self._find(session, account_id, definition_id))

    def enable(self, account_id: int, definition_id: int) -> RecordT:
        return self._set_enabled(account_id, definition_id, True)

    def disable(self, account_id: int, definition_id: int) -> RecordT:
        return self._set_enabled(account_id, definition_id, False)

    def enabled_in(self, bucket: str) -> builtins.list[RecordT]:
        """The enabled definitions (of any account) bound to ``bucket``, by id."""
        model = self.model
        query = select(model).where(model.trigger_bucket == bucket, model.enabled)
        with transaction(self._sessions, write=False) as session:
            rows = session.scalars(query.order_by(model.id))
            return [self._record(row) for row in rows]  # type: ignore[arg-type]

    def list(
        self,
        account_id: int,
        enabled: bool | None = None,
        ids: Iterable[int] | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[builtins.list[RecordT], int]:
        """One page of the account's definitions by id, and how many match in all."""
        if not 1 <= limit <= MAX_PAGE:
            raise SpecError(f"limit must be 1..{MAX_PAGE}, got {limit}", field="limit")
        if offset < 0:
            raise SpecError(f"offset must be >= 0, got {offset}", field="offset")
        model = self.model
        query: Select[Any] = select(model).where(model.account_id == account_id)
        if enabled is not None:
            query = query.where(model.enabled == enabled)
        if ids is not None:
            wanted = set(ids)
            if len(wanted) > MAX_IDS:
                raise SpecError(f"at most {MAX_IDS} {self.noun} ids per query", field="ids")
            query = query.where(model.id.in_(wanted))
        with transaction(self._sessions, write=False) as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = query.order_by(model.id).offset(offset).limit(limit)
            records = [self._record(row) for row in session.scalars(page)]
            return records, total

    # -- helpers --------------------------------------------------------------------------

    def _set_enabled(self, account_id: int, definition_id: int, enabled: bool) -> RecordT:
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_id, definition_id)
            if row.enabled != enabled:
                row.enabled = enabled
                row.updated_at = self._clock()
            return self._record(row)

    def _find(self, session: Session, account_id: int, definition_id: int) -> RowT:
        row = cast("RowT | None", session.get(self.model, definition_id))
        if row is None or row.account_id != account_id:
            raise self.not_found(f"no {self.noun} with id {definition_id}")
        return row

    def _check_name(self, session: Session, account_id: int, name: str, own_id: int | None) -> None:
        model = self.model
        query = select(model.id).where(model.account_id == account_id, model.name == name)
        other = session.scalar(query)
        if other is not None and other != own_id:
            raise SpecError(
                f"name: {self.noun} {other} is already called {name!r}; names are unique",
                code=self.name_code,
                field="name",
            )


def check_templates_still_exist(session: Session, account_id: int, spec: WorkflowSpec) -> None:
    """``SpecError`` if a custom template ``spec`` names is gone (checked in ``session``)."""
    # ``validate`` read the templates in an earlier transaction; a template deleted since
    # then would leave the rule pointing at nothing. Checked again under the lock that
    # ``Templates.delete`` also takes.
    for kind, definition in sorted(template_references(spec.media_process_task)):
        if definition < CUSTOM_ID_START:
            continue
        found = session.scalar(
            select(CustomTemplate.definition).where(
                CustomTemplate.definition == definition,
                CustomTemplate.kind == kind,
                CustomTemplate.account_id == account_id,
            )
        )
        if found is None:
            raise SpecError(
                f"media_process_task: no {kind.value} template with definition {definition}",
                code="ResourceNotFound.TemplateNotExist",
                field="media_process_task",
            )
