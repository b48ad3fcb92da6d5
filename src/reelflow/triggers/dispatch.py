"""From noticed objects to tasks: matching workflows and schedules, own outputs, versions,
dedupe."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from reelflow.catalog.deferred import Deferred, DeferredTriggers
from reelflow.catalog.schedules import Schedules
from reelflow.catalog.triggered import TriggerKey, TriggerLedger
from reelflow.catalog.workflows import Workflows
from reelflow.db.outage import DB_OUTAGES
from reelflow.engine.service import Engine
from reelflow.errors import InvalidKey, ObjectNotFound, ReelflowError, TooManyQueuedTasks
from reelflow.object_keys import validate_key
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.workflows import WorkflowTrigger
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.base import ObjectNotice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fired:
    """What one notice did for one workflow (``schedule`` true: for the schedule whose id
    is ``workflow_id``): the task it started, or (``new`` False) the task the same object
    version had started before, or (``deferred`` True, no ``task_id``) nothing yet: the
    account had ``max_queued_tasks`` unfinished tasks, and the start waits for room."""

    workflow_id: int
    bucket: str
    key: str
    task_id: str
    new: bool
    schedule: bool = False
    deferred: bool = False


@dataclass(frozen=True)
class _Rule:
    """An enabled workflow or schedule bound to the bucket."""

    id: int
    account_id: int
    trigger: WorkflowTrigger
    schedule: bool
    request_for: Callable[[TaskSource], TaskRequest]

    @property
    def label(self) -> str:
        return f"{'schedule' if self.schedule else 'workflow'} {self.id}"


class NoticeDispatcher:
    """``NoticeDispatcher(workflows, engine, storages, ledger, schedules=None)``: safe to
    call from any thread.

    For each notice: the enabled workflows and schedules whose trigger matches; none if the
    key is one reelflow writes itself (``TriggerLedger.is_own_output``); the version is the
    notice's or the object's current ETag; then one ``Engine.submit(..., trigger_key=...)``
    per workflow or schedule, which starts a task only for a (rule, object version) never
    seen before.
    A start that admission refuses (``TooManyQueuedTasks``) is recorded in ``deferred``
    and started later by :meth:`resume` (``reelflow.triggers.deferred``); without
    ``deferred`` it is logged and dropped like any other failure.
    Failures are logged per notice and per workflow; they never propagate, except a
    database outage (``DB_OUTAGES``): then nothing can be decided, and the caller keeps
    its notices to fire them again when the database is back (the ledger drops any
    duplicates).
    """

    def __init__(
        self,
        workflows: Workflows,
        engine: Engine,
        storages: StorageRegistry,
        ledger: TriggerLedger,
        schedules: Schedules | None = None,
        *,
        deferred: DeferredTriggers | None = None,
    ) -> None:
        self._workflows = workflows
        self.deferred = deferred
        self._schedules = schedules
        self._engine = engine
        self._storages = storages
        self._ledger = ledger

    def _bound(self, bucket: str) -> list[_Rule]:
        """The enabled workflows, then the enabled schedules, bound to ``bucket``."""
        rules = [
            _Rule(w.id, w.account_id, w.spec.trigger, False, partial(Workflows.request_for, w))
            for w in self._workflows.enabled_in(bucket)
        ]
        if self._schedules is not None:
            rules += [
                _Rule(s.id, s.account_id, s.spec.trigger, True, partial(Schedules.request_for, s))
                for s in self._schedules.enabled_in(bucket)
            ]
        return rules

    def fire(self, notice: ObjectNotice) -> list[Fired]:
        return self.fire_many(notice.bucket, [notice])

    def fire_many(self, bucket: str, notices: Iterable[ObjectNotice]) -> list[Fired]:
        """Fire notices of one bucket, reading its workflows and schedules once."""
        notices = list(notices)
        if not notices:
            return []
        try:
            bound = self._bound(bucket)
        except DB_OUTAGES:
            raise
        except ReelflowError as exc:
            log.warning("trigger: cannot read the workflows of bucket %s: %s", bucket, exc)
            return []
        fired: list[Fired] = []
        for notice in notices:
            fired += self._fire_one(notice, bound)
        return fired

    def trigger_dirs(self, bucket: str) -> list[str]:
        """The folder prefixes of the enabled workflows and schedules bound to ``bucket``,
        with nested ones left out (listing ``up/`` covers ``up/hd/``)."""
        dirs = sorted({rule.trigger.dir for rule in self._bound(bucket)})
        kept: list[str] = []
        for folder in dirs:
            if not any(folder.startswith(outer) for outer in kept):
                kept.append(folder)
        return kept

    def _fire_one(self, notice: ObjectNotice, bound: list[_Rule]) -> list[Fired]:
        try:
            key = validate_key(notice.key)
        except InvalidKey as exc:
            log.info("trigger: ignored %s/%r: %s", notice.bucket, notice.key, exc.message)
            return []
        matching = [rule for rule in bound if rule.trigger.matches(notice.bucket, key)]
        if not matching:
            return []
        if self._ledger.is_own_output(notice.bucket, key):
            log.debug("trigger: %s/%s is reelflow's own output", notice.bucket, key)
            return []
        version = notice.version or self._version(notice.bucket, key)
        if version is None:
            return []
        source = TaskSource(type="bucket", bucket=notice.bucket, key=key)
        fired = []
        for rule in matching:
            trigger_key = TriggerKey(rule.id, notice.bucket, key, version, rule.schedule)
            try:
                request = rule.request_for(source)
                submitted = self._engine.submit_task(
                    request, account_id=rule.account_id, trigger_key=trigger_key
                )
            except DB_OUTAGES:
                raise
            except TooManyQueuedTasks as exc:
                if self.deferred is None:
                    log.warning("trigger: %s did not start: %s", rule.label, exc.message)
                    continue
                self.deferred.defer(rule.account_id, trigger_key)
                log.info("trigger: %s deferred for %s/%s: %s", rule.label, notice.bucket, key, exc)
                fired.append(
                    Fired(rule.id, notice.bucket, key, "", False, rule.schedule, deferred=True)
                )
                continue
            except ReelflowError as exc:
                log.warning(
                    "trigger: %s did not start for %s/%s: %s",
                    rule.label,
                    notice.bucket,
                    key,
                    exc.message,
                )
                continue
            if not submitted.created:  # this version already started this rule
                fired.append(
                    Fired(rule.id, notice.bucket, key, submitted.task_id, False, rule.schedule)
                )
                continue
            log.info(
                "trigger (%s): %s/%s started task %s of %s",
                notice.origin,
                notice.bucket,
                key,
                submitted.task_id,
                rule.label,
            )
            fired.append(Fired(rule.id, notice.bucket, key, submitted.task_id, True, rule.schedule))
        return fired

    def resume(self, deferred: Deferred) -> Fired | None:
        """Start a deferred trigger's task now, through its workflow or schedule as it is
        now; ``None`` while the account is still full (the record stays). Once started (or
        if its rule is gone or disabled, or the start fails for good) the record is deleted.
        The trigger key makes it exactly once: a start that a concurrent pass (or an
        earlier one, stopped before deleting the record) already made is not made again.
        """
        assert self.deferred is not None
        key = deferred.key
        rules = [
            rule
            for rule in self._bound(key.bucket)
            if rule.id == key.workflow_id and rule.schedule == key.schedule
        ]
        if not rules:
            log.info(
                "trigger: deferred %s/%s dropped: its rule is gone or disabled", key.bucket, key.key
            )
            self.deferred.done(deferred.id)
            return None
        rule = rules[0]
        source = TaskSource(type="bucket", bucket=key.bucket, key=key.key)
        try:
            submitted = self._engine.submit_task(
                rule.request_for(source), account_id=rule.account_id, trigger_key=key
            )
        except DB_OUTAGES:
            raise
        except TooManyQueuedTasks:
            return None
        except ReelflowError as exc:
            log.warning(
                "trigger: deferred %s did not start for %s/%s: %s",
                rule.label,
                key.bucket,
                key.key,
                exc.message,
            )
            self.deferred.done(deferred.id)
            return None
        self.deferred.done(deferred.id)
        if submitted.created:
            log.info(
                "trigger (deferred): %s/%s started task %s of %s",
                key.bucket,
                key.key,
                submitted.task_id,
                rule.label,
            )
        return Fired(
            rule.id, key.bucket, key.key, submitted.task_id, submitted.created, rule.schedule
        )

    def _version(self, bucket: str, key: str) -> str | None:
        try:
            return self._storages.get(bucket).stat(key).etag
        except ObjectNotFound:
            return None  # gone again before we looked: nothing to process
        except ReelflowError as exc:
            log.warning("trigger: cannot stat %s/%s: %s", bucket, key, exc.message)
            return None
