"""Submission under the egress policy (native API): a URL input or notification target
whose host is refused by its spelling alone is a 400 naming the field and the rule, and
nothing is stored."""

from __future__ import annotations

import pytest

from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient, error_of, fields_of

SPEC = {"transcode_task_set": [{"definition": 100010}]}
HOSTS = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("0x7f000001", "0x7f000001 is 127.0.0.1, a loopback address"),
    ("2130706433", "2130706433 is 127.0.0.1, a loopback address"),
    ("[::1]", "::1 is a loopback address"),
    ("[::ffff:127.0.0.1]", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("169.254.169.254", "169.254.169.254 is a link-local address"),
    ("10.1.2.3", "10.1.2.3 is a private address"),
    ("localhost", "localhost is a loopback address"),
    ("127\u30020\u30020\u30021", "is 127.0.0.1, a loopback address"),  # ideographic stops
]
RULE = "the egress policy refuses it (REELFLOW_EGRESS_ALLOW)"


@pytest.mark.parametrize(("host", "reason"), HOSTS)
def test_a_refused_url_input_is_400_at_submission(
    client: TestClient, admin: Key, runtime: ServerServices, host: str, reason: str
) -> None:
    body = {
        "input": {"url": f"http://{host}:8080/clip.mp4"},
        "media_process_task": SPEC,
        "output": {"bucket": "media"},
    }
    response = client.post("/v1/tasks", json=body, headers=admin.headers)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidParameterValue.Url"
    assert reason in str(error["message"]) and RULE in str(error["message"])
    assert fields_of(response) == ["input.url"]
    assert runtime.engine.list_tasks(limit=10)[0] == []


@pytest.mark.parametrize(("host", "reason"), HOSTS)
def test_a_refused_notify_url_is_400_at_submission(
    client: TestClient, admin: Key, host: str, reason: str
) -> None:
    body = {
        "input": {"bucket": "media", "key": "in/a.mp4"},
        "media_process_task": SPEC,
        "notify": {"type": "url", "url": f"http://{host}/latest/meta-data/"},
    }
    response = client.post("/v1/tasks", json=body, headers=admin.headers)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidParameterValue.NotifyUrl"
    assert reason in str(error["message"])
    assert fields_of(response) == ["notify.url"]


@pytest.mark.parametrize(
    "url",
    [
        "redis://169.254.169.254:6379/0",
        "amqp://10.1.2.3:5672/",
        "unix:///var/run/redis.sock",
    ],
)
def test_refused_redis_and_amqp_targets_are_400(client: TestClient, admin: Key, url: str) -> None:
    kind = "amqp" if url.startswith("amqp") else "redis"
    target = {"type": kind, "url": url, **({"queue": "q"} if kind == "amqp" else {"stream": "s"})}
    workflow = {
        "name": "uploads",
        "trigger": {"bucket": "media", "dir": "/in"},
        "media_process_task": SPEC,
        "notify": target,
    }
    response = client.post("/v1/workflows", json=workflow, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "InvalidParameterValue.NotifyUrl"
    assert fields_of(response) == ["notify.url"]


def test_public_names_are_left_to_connect_time(client: TestClient, admin: Key) -> None:
    body = {
        "input": {"url": "https://media.example/clip.mp4"},
        "media_process_task": SPEC,
        "output": {"bucket": "media"},
        "notify": {"type": "url", "url": "https://hooks.example/reelflow"},
    }
    assert client.post("/v1/tasks", json=body, headers=admin.headers).status_code == 201
