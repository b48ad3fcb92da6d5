"""``/v1/deferred-triggers``: the account's workflow and schedule starts waiting for room
under ``max_queued_tasks`` (docs/scheduling.md, "Admission")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from reelflow.api.rest.deps import AccountDep, known_query_only
from reelflow.api.rest.schemas.common import MAX_ID, error_responses
from reelflow.api.rest.schemas.deferred import DeferredOut, DeferredPage
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import TriggersDep

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/v1/deferred-triggers",
    tags=["workflows"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)


@router.get("", response_model=DeferredPage, summary="List deferred workflow starts, oldest first")
def list_deferred(
    triggers: TriggersDep,
    account: AccountDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DeferredPage:
    if triggers.deferred is None:
        return DeferredPage(deferred=[], next_after=None)
    page = triggers.deferred.page(account.id, limit + 1, after=after)
    more = len(page) > limit
    page = page[:limit]
    return DeferredPage(
        deferred=[DeferredOut.of(d) for d in page], next_after=page[-1].id if more else None
    )
