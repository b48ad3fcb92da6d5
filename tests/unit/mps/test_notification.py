"""ParseNotification: the body of reelflow's own events, parsed back."""

from __future__ import annotations

import json
import time

from reelflow.compat.render import event_body
from reelflow.notify.body import render
from reelflow.notify.signing import verify_mps_sign
from reelflow.specs.events import EventType
from reelflow.wiring.server import ServerServices
from tests.unit.mps.conftest import Call, error_code
from tests.unit.mps.test_tasks import submit


def test_parses_an_event_body(call: Call, runtime: ServerServices) -> None:
    task_id = submit(call, SessionId="sess", SessionContext="ctx")
    runtime.engine.cancel(task_id)
    view = runtime.engine.task_view(task_id)
    body = render(event_body(view, "ev-1", 1, EventType.TASK_FINISHED), "key", time.time())
    answer = call("ParseNotification", {"Content": json.dumps(body)})
    assert answer["EventType"] == "WorkflowTask"
    assert (answer["SessionId"], answer["SessionContext"]) == ("sess", "ctx")
    assert answer["WorkflowTaskEvent"]["TaskId"] == task_id
    assert answer["WorkflowTaskEvent"]["Status"] == "FINISH"
    assert answer["EditMediaTaskEvent"] is None
    assert answer["ScheduleTaskEvent"] is None
    assert verify_mps_sign(answer, "key", now=time.time())


def test_errors(call: Call) -> None:
    assert error_code(call("ParseNotification", {})) == "MissingParameter"
    for content in ("not json", "[1]", '{"Foo": 1}'):
        answer = call("ParseNotification", {"Content": content})
        assert error_code(answer) == "InvalidParameterValue.Content"
