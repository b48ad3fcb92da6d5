"""``ManageTask``: ``OperationType`` ``Abort`` stops a waiting or running task.

It is the native cancel (``Engine.cancel``): the task's jobs are cancelled (a running
FFmpeg is killed when its worker next reports), its unfinished sub-tasks end ``FAIL`` with
``ErrCodeExt`` ``Cancelled``, the task reaches ``FINISH`` and its finish event is sent.
Aborting an aborted task again does nothing; a finished one is ``FailedOperation``.
"""

from __future__ import annotations

from typing import Any

from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.params import Params, invalid

_OPERATIONS = ("Abort",)


def manage_task(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("OperationType", "TaskId"))
    operation = p.text("OperationType", required=True)
    if operation not in _OPERATIONS:
        raise invalid("OperationType", f"must be Abort, got {operation!r}")
    task_id = p.text("TaskId", required=True, max_length=256)
    ctx.services.engine.cancel(task_id, account_id=ctx.account.id)
    return {}


ACTIONS: dict[str, Handler] = {"ManageTask": manage_task}
