"""``/healthz`` (no key: load balancers and orchestrators call it) and ``/metrics``.

``/metrics`` is for Prometheus (``reelflow.api.rest.deps.metrics_scraper``): the dedicated
``REELFLOW_METRICS_TOKEN`` or an **admin** key as ``Authorization: Bearer`` (Prometheus sends
one with ``authorization: {credentials: ...}``), since its numbers cover every account; or
no key at all with ``metrics_public = true``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from reelflow.api.rest.deps import MetricsDep, MetricsScraper, known_query_only
from reelflow.api.rest.metrics import CONTENT_TYPE
from reelflow.api.rest.schemas.common import error_responses
from reelflow.api.rest.schemas.health import HealthOut
from reelflow.db.session import ping
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import DatabaseDep

logger = logging.getLogger(__name__)

router = APIRouter(
    route_class=BoundedJsonRoute,
    tags=["service"],
    responses=error_responses(400),
    dependencies=[known_query_only],
)


@router.get(
    "/healthz",
    response_model=HealthOut,
    summary="Liveness and database reachability (no key needed)",
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
def healthz(database: DatabaseDep) -> HealthOut | JSONResponse:
    problem = ping(database)
    if problem is not None:
        # One line, no traceback: probes call this every few seconds during an outage.
        logger.warning("health check: the database is unreachable: %s", problem)
        body = HealthOut(status="unavailable", database="unreachable")
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthOut(status="ok", database="ok")


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics (REELFLOW_METRICS_TOKEN or an admin key; none if public)",
    dependencies=[MetricsScraper],
    responses={
        200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}},
        **error_responses(401, 403),
    },
)
def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE)
