"""JSON request bodies whose numbers cannot overflow: one parser for every door.

Python refuses to convert an integer of more than 4300 digits (and converting thousands of
digits costs quadratic time), so ``json.loads`` would fail the whole body on one huge
number, naming no field. Here an integer beyond 64 bits becomes +-infinity instead, which
no field accepts: validation then refuses it *naming its field*
(``InvalidParameterValue.Bitrate``), as for any other out-of-range value.

:class:`BoundedJsonRoute` gives the native REST routes this parser (``APIRouter(route_class=
BoundedJsonRoute)``); the compatible API's parameter parser calls :func:`loads` itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from reelflow.specs.units import INT64_MAX, INT64_MIN

INT64_DIGITS = 19  # len(str(INT64_MAX)): a longer integer is out of range


def bounded_int(text: str) -> int | float:
    """A JSON integer; one beyond 64 bits becomes +-infinity, which no field accepts."""
    if len(text.lstrip("-")) <= INT64_DIGITS:
        number = int(text)
        if INT64_MIN <= number <= INT64_MAX:
            return number
    return float("-inf") if text.startswith("-") else float("inf")


def loads(body: bytes | str) -> Any:
    """``json.loads`` with :func:`bounded_int` for integers; raises what it raises."""
    return json.loads(body, parse_int=bounded_int)


class BoundedJsonRequest(Request):
    """A request whose ``json()`` parses with :func:`loads`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class BoundedJsonRoute(APIRoute):
    """An API route that hands its endpoint a :class:`BoundedJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(BoundedJsonRequest(request.scope, request.receive))

        return bounded
