"""``/healthz``."""

from __future__ import annotations

from typing import Literal

from reelflow.api.rest.schemas.common import ResponseModel


class HealthOut(ResponseModel):
    """Whether the server is up and reaches its database."""

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
