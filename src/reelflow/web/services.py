"""The application services a door's routes use: one FastAPI dependency each.

``reelflow.wiring.http.create_app`` puts every service a door may use on ``app.state`` under
its own name (``app.state.workflows``, ``app.state.engine``...); a route declares only the
ones it uses (``workflows: WorkflowsDep``), never the whole set, and never a session or a
model. Nothing here builds a service; each dependency only reads memory, so it is ``async``
(no thread hop per request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine as DbEngine

from reelflow.catalog.accounts import Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.folders import BucketFolders
from reelflow.catalog.schedules import Schedules
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import Workflows
from reelflow.config import Settings
from reelflow.engine.service import Engine
from reelflow.notify.deliveries import DeliveryStore
from reelflow.notify.delivery_loop import DeliveryLoop
from reelflow.notify.queues import MessageQueues
from reelflow.notify.records import OutboxRecords
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskSource
from reelflow.storage.registry import StorageRegistry
from reelflow.triggers.service import TriggerService

T = TypeVar("T")

SourceProbe = Callable[[TaskSource], MediaInfo]
"""Probes a bucket object or URL now, as a task's probe job would (``JobRuntime.probe_source``)."""

UrlReader = Callable[[str, int], bytes]
"""Reads a small http(s) resource (at most the given bytes) through the egress policy now
(``UrlSources.read``): an inline watermark's image given as a URL."""


def _service(name: str, _kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """The dependency reading ``app.state.<name>`` (a ``_kind``)."""

    async def get(request: Request) -> T:
        found: T = getattr(request.app.state, name)
        return found

    get.__name__ = get.__qualname__ = f"get_{name}"
    return get


get_settings = _service("settings", Settings)
get_database = _service("database", DbEngine)
get_storages = _service("storages", StorageRegistry)
get_accounts = _service("accounts", Accounts)
get_buckets = _service("buckets", Buckets)
get_bucket_folders = _service("bucket_folders", BucketFolders)
get_templates = _service("templates", Templates)
get_workflows = _service("workflows", Workflows)
get_schedules = _service("schedules", Schedules)
get_engine = _service("engine", Engine)
get_queues = _service("queues", MessageQueues)
get_outbox_records = _service("outbox_records", OutboxRecords)
get_deliveries = _service("deliveries", DeliveryStore)
get_delivery_loop = _service("delivery_loop", DeliveryLoop)
get_triggers = _service("triggers", TriggerService)


async def get_source_probe(request: Request) -> SourceProbe:
    found: SourceProbe = request.app.state.source_probe
    return found


SettingsDep = Annotated[Settings, Depends(get_settings)]
#: The database engine itself: only ``/healthz`` uses it (to ping the database).
DatabaseDep = Annotated[DbEngine, Depends(get_database)]
StoragesDep = Annotated[StorageRegistry, Depends(get_storages)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
BucketsDep = Annotated[Buckets, Depends(get_buckets)]
BucketFoldersDep = Annotated[BucketFolders, Depends(get_bucket_folders)]
TemplatesDep = Annotated[Templates, Depends(get_templates)]
WorkflowsDep = Annotated[Workflows, Depends(get_workflows)]
SchedulesDep = Annotated[Schedules, Depends(get_schedules)]
EngineDep = Annotated[Engine, Depends(get_engine)]
QueuesDep = Annotated[MessageQueues, Depends(get_queues)]
OutboxRecordsDep = Annotated[OutboxRecords, Depends(get_outbox_records)]
DeliveriesDep = Annotated[DeliveryStore, Depends(get_deliveries)]
DeliveryLoopDep = Annotated[DeliveryLoop, Depends(get_delivery_loop)]
TriggersDep = Annotated[TriggerService, Depends(get_triggers)]
SourceProbeDep = Annotated[SourceProbe, Depends(get_source_probe)]


async def get_url_reader(request: Request) -> UrlReader:
    found: UrlReader = request.app.state.url_reader
    return found


UrlReaderDep = Annotated[UrlReader, Depends(get_url_reader)]
