"""NotifyTarget: defaults, per-type fields, addresses, identity and redaction."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reelflow.specs.notify import NotifyTarget
from reelflow.specs.requests import TaskRequest
from tests.unit.engine.fakes import make_request


def test_the_default_type_is_the_embedded_queue_in_finish_mode() -> None:
    target = NotifyTarget(name="events")
    assert (target.type, target.mode, target.change_events) == ("queue", "Finish", False)
    assert NotifyTarget.model_validate({"Name": "events", "Mode": "Change"}).change_events


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "needs name"),
        ({"name": "has space"}, "queue name"),
        ({"name": "-starts-with-dash"}, "queue name"),
        ({"type": "url"}, "needs url"),
        ({"type": "url", "url": "ftp://example.com/x"}, "http:// or https://"),
        ({"type": "url", "url": "http:///nohost"}, "has no host"),
        ({"type": "url", "url": "http://example.com:notaport/"}, "url:"),
        ({"type": "redis", "url": "redis://127.0.0.1"}, "needs stream"),
        ({"type": "amqp", "url": "amqp://h"}, "exactly one of queue and exchange"),
        ({"type": "amqp", "url": "amqp://h", "queue": "q", "exchange": "x"}, "exactly one"),
        ({"type": "amqp", "url": "amqp://h", "queue": "q", "routing_key": "k"}, "routing_key"),
        ({"name": "q", "url": "http://example.com"}, "url: not a field of a 'queue' target"),
        ({"type": "url", "url": "http://e.com", "stream": "s"}, "stream: not a field"),
        ({"name": "q", "mode": "Sometimes"}, "Finish"),
        ({"name": "q", "colour": "red"}, "Extra inputs"),
        ({"type": "url", "url": "http://e.com", "timeout": 0}, "greater than 0"),
    ],
)
def test_invalid_targets_say_what_is_wrong(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NotifyTarget.model_validate(fields)


def test_each_type_accepts_its_fields() -> None:
    NotifyTarget(type="url", url="https://hooks.example.com/x?y=1", secret="s", timeout=3)
    NotifyTarget(type="redis", url="redis://127.0.0.1:6379/0", stream="events", max_len=1000)
    NotifyTarget(type="amqp", url="amqp://guest:guest@127.0.0.1:5672/%2F", queue="events")
    NotifyTarget(type="amqp", url="amqps://h", exchange="ex", routing_key="task.finished")
    NotifyTarget(type="url", url="http://e.com", notify_key="k", mode="Change")


def test_key_names_the_destination_not_the_mode() -> None:
    finish = NotifyTarget(type="url", url="http://e.com/a")
    change = NotifyTarget(type="url", url="http://e.com/a", mode="Change")
    other = NotifyTarget(type="url", url="http://e.com/b")
    assert finish.key() == change.key() != other.key()
    assert len(finish.key()) == 64


def test_redacted_and_describe_hide_secrets() -> None:
    target = NotifyTarget(
        type="url", url="https://user:pw@e.com/hook", secret="hmac-secret", notify_key="mps"
    )
    shown = target.redacted()
    assert shown["secret"] == "***" and shown["notify_key"] == "***"
    assert shown["url"] == "https://user:***@e.com/hook"
    assert "pw" not in target.describe() and "hmac-secret" not in str(shown)
    amqp = NotifyTarget(type="amqp", url="amqp://guest:guest@h/", exchange="ex")
    assert amqp.describe() == "amqp amqp://guest:***@h/ exchange ex"


def test_a_task_request_carries_its_target_through_json() -> None:
    target = NotifyTarget(type="url", url="http://e.com/a", secret="s", mode="Change")
    request = make_request(1).model_copy(update={"notify": target})
    again = TaskRequest.model_validate(request.to_json())
    assert again.notify == target
    assert TaskRequest.model_validate(make_request(1).to_json()).notify is None
