"""Notification records: ``GET /v1/tasks/{id}/events`` (a task's events with their
deliveries and attempts), ``GET /v1/deliveries`` (newest first, by state), one delivery,
and ``POST /v1/deliveries/{id}:replay`` (a dead delivery is tried again)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from reelflow.api.rest.deps import AccountDep, known_query_only
from reelflow.api.rest.schemas.common import MAX_ID, TaskId, error_responses
from reelflow.api.rest.schemas.events import DeliveryOut, DeliveryPage, EventOut, TaskEvents
from reelflow.specs.events import DeliveryState
from reelflow.web import convertors
from reelflow.web.jsonbody import BoundedJsonRoute
from reelflow.web.services import DeliveriesDep, DeliveryLoopDep, OutboxRecordsDep

convertors.register()  # before the routes below compile "{delivery_id:segment}"

router = APIRouter(
    route_class=BoundedJsonRoute,
    tags=["notifications"],
    responses=error_responses(400, 401),
    dependencies=[known_query_only],
)
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get(
    "/v1/tasks/{task_id}/events",
    response_model=TaskEvents,
    summary="A task's notification events, their deliveries and every attempt",
    responses=error_responses(404),
)
def task_events(
    task_id: TaskId, outbox_records: OutboxRecordsDep, account: AccountDep
) -> TaskEvents:
    events = outbox_records.task_events(task_id, account_id=account.id)
    return TaskEvents(task_id=task_id, events=[EventOut.of(e) for e in events])


@router.get("/v1/deliveries", response_model=DeliveryPage, summary="List deliveries, newest first")
def list_deliveries(
    outbox_records: OutboxRecordsDep,
    account: AccountDep,
    state: DeliveryState | None = None,
    task_id: Annotated[str | None, Query(max_length=40)] = None,
    workflow_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(pattern=r"^d[0-9]{1,18}$", description="A page's next_cursor.")
    ] = None,
) -> DeliveryPage:
    views, next_cursor = outbox_records.deliveries(
        account_id=account.id,
        state=state,
        task_id=task_id,
        workflow_id=workflow_id,
        limit=limit,
        cursor=cursor or None,
    )
    return DeliveryPage(deliveries=[DeliveryOut.of(v) for v in views], next_cursor=next_cursor)


@router.get(
    "/v1/deliveries/{delivery_id:segment}",
    response_model=DeliveryOut,
    summary="Read a delivery",
    responses=error_responses(404),
)
def get_delivery(
    delivery_id: DeliveryId, outbox_records: OutboxRecordsDep, account: AccountDep
) -> DeliveryOut:
    return DeliveryOut.of(outbox_records.delivery(delivery_id, account_id=account.id))


@router.post(
    "/v1/deliveries/{delivery_id:segment}:replay",
    response_model=DeliveryOut,
    summary="Send a dead delivery again (pending now, with a fresh retry window)",
    responses=error_responses(404, 409),
)
def replay_delivery(
    delivery_id: DeliveryId,
    outbox_records: OutboxRecordsDep,
    deliveries: DeliveriesDep,
    delivery_loop: DeliveryLoopDep,
    account: AccountDep,
) -> DeliveryOut:
    deliveries.replay(delivery_id, account_id=account.id)
    delivery_loop.wake()
    return DeliveryOut.of(outbox_records.delivery(delivery_id, account_id=account.id))
