"""``create_app(services)``: the FastAPI application of one reelflow process, assembled
from the three front doors: the REST API (``reelflow.api.rest``), the action API
(``reelflow.api.mps``) and the console (``reelflow.console``), over ``reelflow.web``'s error
handlers and body limits.

Each service the doors use is kept on ``app.state`` under its own name (``app.state.engine``,
``app.state.workflows``...: ``reelflow.web.services`` gives a route one dependency per
service); nothing is global and nothing happens at import time. The app does not start the
scheduler (``reelflow serve`` owns its lifecycle).
``app.state.on_upload`` is the upload hook (``(account_id, bucket, key) -> list[Fired]``,
the tasks it started; default ``None``) called after each successful object PUT;
``app.state.metrics.observe_job`` is the hook for job durations.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI

from reelflow.api.mps import router as mps_router
from reelflow.api.rest.metrics import ServiceMetrics
from reelflow.api.rest.routes import (
    deferred,
    events,
    health,
    hooks,
    objects,
    queues,
    tasks,
    templates,
    workflows,
)
from reelflow.console import install_console
from reelflow.console.stats import DashboardStats
from reelflow.engine.stats import TaskStats
from reelflow.triggers.dispatch import Fired
from reelflow.web.docs import documented_app
from reelflow.web.errors import install_error_handlers
from reelflow.web.limits import BodyLimitMiddleware, BodyLimits
from reelflow.wiring.server import ServerServices

UploadHook = Callable[[int, str, str], list[Fired]]

DESCRIPTION = """
The native REST API of reelflow. Every route but `/healthz` needs an API key:
`Authorization: Bearer <secret_key>`. A resource of another account is reported as not
found (404).

**Errors** are always JSON: `{"error": {"code", "message", "fields"?}}`. All bad input is
**400** (malformed JSON `InvalidParameter.MalformedJSON`, unknown field or query parameter
`UnknownParameter`, missing field `MissingParameter`, wrong type or value
`InvalidParameterValue*`, with every offending field named in `fields`); 401
`AuthFailure.*`; 404 `ResourceNotFound.*` (also for a missing resource a body names, e.g.
`input.bucket`); 405 `UnsupportedOperation.Method` for a method the path does not have
(`Allow` lists those it has); 409 `FailedOperation.*` (a state that does not allow the
operation); 413 `RequestTooLarge` (JSON bodies are limited to 1 MiB). Each operation lists
the statuses it can answer.

**Custom methods** use a colon: `POST /v1/tasks/{id}:cancel`, `POST /v1/tasks/{id}:retry`,
`POST /v1/workflows/{id}:enable`, `POST /v1/workflows/{id}:disable`,
`POST /v1/queues/{queue}/messages:receive`, `POST /v1/deliveries/{id}:replay`.
"""


def _version() -> str:
    try:
        return version("reelflow")
    except PackageNotFoundError:
        return "0.0.0"


def _without_422(app: FastAPI) -> None:
    """Drop FastAPI's own 422 from the OpenAPI document: bad input is 400 here (see
    ``reelflow.web.errors``), and each route lists the statuses it can answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _put_services(app: FastAPI, services: ServerServices) -> None:
    """Each service a door may use, on ``app.state`` under the name ``reelflow.web.services``
    reads it by (no session, no database models: those stay behind the services)."""
    state = app.state
    state.settings = services.settings
    state.database = services.db  # /healthz pings it
    state.storages = services.storages
    state.accounts = services.accounts
    state.buckets = services.buckets
    state.bucket_folders = services.bucket_folders
    state.templates = services.templates
    state.workflows = services.workflows
    state.schedules = services.schedules
    state.engine = services.engine
    state.queues = services.queues
    state.outbox_records = services.outbox_records
    state.deliveries = services.deliveries
    state.delivery_loop = services.dispatcher
    state.triggers = services.triggers
    state.source_probe = services.jobs.probe_source  # DescribeMediaMetaData
    state.url_reader = services.jobs.urls.read  # an inline watermark's image URL


def create_app(services: ServerServices, *, limits: BodyLimits | None = None) -> FastAPI:
    """The API over ``services``; ``limits`` bounds request bodies (default 1 MiB of JSON,
    50 GiB per object upload)."""
    # /docs and /redoc work offline (reelflow.web.docs).
    app = documented_app(
        title="reelflow", version=_version(), description=DESCRIPTION, openapi_url="/openapi.json"
    )
    _put_services(app, services)
    stats = TaskStats(services.sessions)  # the read-only counts /metrics and the dashboard show
    app.state.metrics = ServiceMetrics(
        stats,
        workers=services.settings.workers,
        executor=services.executor,
        scheduler=services.scheduler,
    )
    app.state.on_upload = None
    install_error_handlers(app)
    # Added last, so it is outside the catch-all: a 413 is answered before any route runs.
    app.add_middleware(BodyLimitMiddleware, limits=limits or BodyLimits())
    modules = (tasks, events, queues, workflows, deferred, templates, objects, hooks, health)
    for module in modules:
        app.include_router(module.router)
    app.include_router(mps_router)  # POST /: the actions; GET /: 307 /console for browsers
    dashboard = DashboardStats(stats, services.settings.workers, services.executor)
    install_console(  # /console
        app,
        data_dir=services.settings.data_dir,
        stats=dashboard,
        player_dir=services.settings.player_dir,
    )
    _without_422(app)
    return app
