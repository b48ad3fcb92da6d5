"""Every action of the compatible API that reelflow offers, by ``X-TC-Action`` name; one
module per family."""

from __future__ import annotations

from reelflow.api.mps.actions import (
    edit,
    manage,
    metadata,
    notification,
    schedules,
    tasks,
    templates,
    workflows,
)
from reelflow.api.mps.context import Handler

ACTIONS: dict[str, Handler] = {
    **workflows.ACTIONS,
    **schedules.ACTIONS,
    **tasks.ACTIONS,
    **edit.ACTIONS,
    **templates.ACTIONS,
    **notification.ACTIONS,
    **manage.ACTIONS,
    **metadata.ACTIONS,
}
