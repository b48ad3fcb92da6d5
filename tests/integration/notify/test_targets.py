"""An event reaches each kind of target with the right body: the embedded queue, a signed
webhook, a Redis stream and RabbitMQ (queue and exchange), over real connections."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from reelflow.notify.queues import MessageQueues
from reelflow.notify.signing import verify_mps_sign, verify_webhook_signature
from reelflow.specs.events import DeliveryState
from reelflow.specs.notify import NotifyTarget
from tests.integration.notify.receiver import Receiver
from tests.integration.notify.services import AMQP_URL, REDIS_URL
from tests.unit.notify.harness import Harness

pytestmark = pytest.mark.integration

WAIT = 15.0


def check_body(document: dict[str, Any], task_id: str, subtasks: int = 2) -> None:
    """The compatible API's event for a task that finished with every sub-task done."""
    assert document["EventType"] == "WorkflowTask"
    assert document["EventId"].startswith("ev-") and document["Sequence"] == 1
    assert document["EditMediaTaskEvent"] is None and document["ScheduleTaskEvent"] is None
    event = document["WorkflowTaskEvent"]
    assert (event["TaskId"], event["Status"], event["ErrCode"]) == (task_id, "FINISH", 0)
    assert event["InputInfo"]["Type"] == "COS"
    assert event["MetaData"]["Width"] == 640
    results = event["MediaProcessResultSet"]
    assert len(results) == subtasks
    for index, result in enumerate(results):
        assert result["Type"] == "Transcode"
        transcode = result["TranscodeTask"]
        assert (transcode["Status"], transcode["ErrCodeExt"]) == ("SUCCESS", "")
        assert transcode["Output"]["Definition"] == 100010 + index


def wait_delivered(harness: Harness, count: int = 1) -> None:
    deadline = time.monotonic() + WAIT
    while len(harness.deliveries(DeliveryState.DELIVERED)) < count:
        assert time.monotonic() < deadline, [(d.state, d.last_error) for d in harness.deliveries()]
        time.sleep(0.02)


def test_embedded_queue(harness: Harness, queues: MessageQueues) -> None:
    task_id = harness.finish(NotifyTarget(name="events"), subtasks=2)
    wait_delivered(harness)
    [message] = queues.receive(None, "events")
    check_body(message.body, task_id)
    assert message.event_id == message.body["EventId"]


def test_signed_webhook(harness: Harness) -> None:
    with Receiver() as hook:
        target = NotifyTarget(type="url", url=hook.url, secret="hmac-s3cret", notify_key="mps-key")
        task_id = harness.finish(target, subtasks=2)
        [request] = hook.wait_accepted(1, WAIT)
    check_body(request.document, task_id)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-reelflow-event-id"] == request.document["EventId"]
    signature = headers["x-reelflow-signature"]
    assert verify_webhook_signature(signature, "hmac-s3cret", request.body, now=time.time())
    assert not verify_webhook_signature(signature, "wrong", request.body, now=time.time())
    # The compatible API's Sign: MD5(Timestamp + NotifyKey), Timestamp an expiry ~10 min out.
    assert verify_mps_sign(request.document, "mps-key", now=time.time())
    assert 590 <= request.document["Timestamp"] - request.at <= 601
    wait_delivered(harness)
    [delivery] = harness.deliveries()
    assert delivery.last_status == 200


def test_redis_stream(harness: Harness, redis_client: Any) -> None:
    stream = f"reelflow-test-{uuid.uuid4().hex}"
    try:
        target = NotifyTarget(type="redis", url=REDIS_URL, stream=stream, max_len=1000)
        task_id = harness.finish(target, subtasks=2)
        wait_delivered(harness)
        [(_entry_id, fields)] = redis_client.xrange(stream)
        document = json.loads(fields[b"body"])
        check_body(document, task_id)
        assert fields[b"event_id"].decode() == document["EventId"]
        assert fields[b"task_id"].decode() == task_id
        assert (fields[b"seq"], fields[b"type"]) == (b"1", b"task.finished")
    finally:
        redis_client.delete(stream)


def test_rabbitmq_queue_with_confirms(harness: Harness, amqp_channel: Any) -> None:
    queue = f"reelflow-test-{uuid.uuid4().hex}"
    try:
        task_id = harness.finish(NotifyTarget(type="amqp", url=AMQP_URL, queue=queue), 2)
        wait_delivered(harness)
        method, properties, body = amqp_channel.basic_get(queue, auto_ack=True)
        assert method is not None, "no message in the queue"
        document = json.loads(body)
        check_body(document, task_id)
        assert properties.delivery_mode == 2  # persistent
        assert properties.message_id == document["EventId"]
        assert properties.content_type == "application/json"
        # The queue was declared durable by the sink (it did not exist before).
        declared = amqp_channel.queue_declare(queue, passive=True)
        assert declared.method.message_count == 0
    finally:
        amqp_channel.queue_delete(queue)


def test_rabbitmq_exchange_and_routing_key(harness: Harness, amqp_channel: Any) -> None:
    exchange = f"reelflow-test-x-{uuid.uuid4().hex}"
    queue = f"reelflow-test-q-{uuid.uuid4().hex}"
    amqp_channel.exchange_declare(exchange, exchange_type="direct", auto_delete=True)
    amqp_channel.queue_declare(queue, exclusive=True)
    amqp_channel.queue_bind(queue, exchange, routing_key="task.finished")
    try:
        target = NotifyTarget(
            type="amqp", url=AMQP_URL, exchange=exchange, routing_key="task.finished"
        )
        task_id = harness.finish(target, subtasks=1)
        wait_delivered(harness)
        method, _properties, body = amqp_channel.basic_get(queue, auto_ack=True)
        assert method is not None and method.routing_key == "task.finished"
        check_body(json.loads(body), task_id, subtasks=1)

        # A routing key no queue is bound to: the broker returns the message (mandatory),
        # the attempt fails and is retried, nothing is lost silently.
        lost = NotifyTarget(type="amqp", url=AMQP_URL, exchange=exchange, routing_key="nobody")
        harness.finish(lost)
        deadline = time.monotonic() + WAIT
        while not any("unroutable" in d.last_error for d in harness.deliveries()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        amqp_channel.exchange_delete(exchange)


def test_misconfigured_targets_fail_alone(harness: Harness, queues: MessageQueues) -> None:
    bad = [
        NotifyTarget(type="url", url="http://no-such-host.invalid/hook", timeout=2),
        NotifyTarget(type="url", url="http://127.0.0.1:9/closed-port", timeout=2),
        NotifyTarget(type="redis", url="redis://no-such-host.invalid:6379", stream="s", timeout=2),
        NotifyTarget(type="amqp", url="amqp://guest:guest@127.0.0.1:9/", queue="q", timeout=2),
    ]
    for target in bad:
        harness.finish(target)
    good = harness.finish(NotifyTarget(name="events"))
    wait_delivered(harness)
    [message] = queues.receive(None, "events")
    assert message.body["WorkflowTaskEvent"]["TaskId"] == good
    deadline = time.monotonic() + WAIT
    while True:
        failing = [d for d in harness.deliveries(DeliveryState.PENDING) if d.last_error]
        if len(failing) == len(bad):
            break
        assert time.monotonic() < deadline, [(d.id, d.last_error) for d in harness.deliveries()]
        time.sleep(0.05)
    errors = sorted(d.last_error for d in failing)
    assert all(errors), errors
    joined = "\n".join(errors)
    assert "ConnectError" in joined and "redis" in joined and "amqp" in joined
