"""From noticed objects to tasks: matching workflows, own outputs, versions, dedupe."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from reelflow.catalog.triggered import TriggerKey, TriggerLedger
from reelflow.catalog.workflows import WorkflowRecord, Workflows
from reelflow.db.outage import DB_OUTAGES
from reelflow.engine.service import Engine
from reelflow.errors import InvalidKey, ObjectNotFound, ReelflowError
from reelflow.object_keys import validate_key
from reelflow.specs.requests import TaskSource
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.base import ObjectNotice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fired:
    """What one notice did for one workflow: the task it started, or (``new`` False) the
    task the same object version had started before."""

    workflow_id: int
    bucket: str
    key: str
    task_id: str
    new: bool


class Dispatcher:
    """``Dispatcher(workflows, engine, storages, ledger)``: safe to call from any thread.

    For each notice: the enabled workflows whose trigger matches; none if the key is one
    reelflow writes itself (``TriggerLedger.is_own_output``); the version is the notice's
    or the object's current ETag; then one ``Engine.submit(..., trigger_key=...)`` per
    workflow, which starts a task only for a (workflow, object version) never seen before.
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
    ) -> None:
        self._workflows = workflows
        self._engine = engine
        self._storages = storages
        self._ledger = ledger

    def fire(self, notice: ObjectNotice) -> list[Fired]:
        return self.fire_many(notice.bucket, [notice])

    def fire_many(self, bucket: str, notices: Iterable[ObjectNotice]) -> list[Fired]:
        """Fire notices of one bucket, reading its workflows once."""
        notices = list(notices)
        if not notices:
            return []
        try:
            bound = self._workflows.enabled_in(bucket)
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
        """The folder prefixes of the enabled workflows bound to ``bucket``, with nested
        ones left out (listing ``up/`` covers ``up/hd/``)."""
        dirs = sorted({w.spec.trigger.dir for w in self._workflows.enabled_in(bucket)})
        kept: list[str] = []
        for folder in dirs:
            if not any(folder.startswith(outer) for outer in kept):
                kept.append(folder)
        return kept

    def _fire_one(self, notice: ObjectNotice, bound: list[WorkflowRecord]) -> list[Fired]:
        try:
            key = validate_key(notice.key)
        except InvalidKey as exc:
            log.info("trigger: ignored %s/%r: %s", notice.bucket, notice.key, exc.message)
            return []
        matching = [w for w in bound if w.spec.trigger.matches(notice.bucket, key)]
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
        for workflow in matching:
            trigger_key = TriggerKey(workflow.id, notice.bucket, key, version)
            try:
                request = Workflows.request_for(workflow, source)
                submitted = self._engine.submit_task(
                    request, account_id=workflow.account_id, trigger_key=trigger_key
                )
            except DB_OUTAGES:
                raise
            except ReelflowError as exc:
                log.warning(
                    "trigger: workflow %s did not start for %s/%s: %s",
                    workflow.id,
                    notice.bucket,
                    key,
                    exc.message,
                )
                continue
            if not submitted.created:  # this version already started this workflow
                fired.append(Fired(workflow.id, notice.bucket, key, submitted.task_id, False))
                continue
            log.info(
                "trigger (%s): %s/%s started task %s of workflow %s",
                notice.origin,
                notice.bucket,
                key,
                submitted.task_id,
                workflow.id,
            )
            fired.append(Fired(workflow.id, notice.bucket, key, submitted.task_id, True))
        return fired

    def _version(self, bucket: str, key: str) -> str | None:
        try:
            return self._storages.get(bucket).stat(key).etag
        except ObjectNotFound:
            return None  # gone again before we looked: nothing to process
        except ReelflowError as exc:
            log.warning("trigger: cannot stat %s/%s: %s", bucket, key, exc.message)
            return None
