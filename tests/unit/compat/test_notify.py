"""The compatible API's TaskNotifyConfig <-> NotifyTarget."""

from __future__ import annotations

import pytest

from reelflow.compat.notify import TaskNotifyConfig, from_task_notify_config, to_task_notify_config
from reelflow.errors import SpecError
from reelflow.specs.notify import NotifyTarget


@pytest.mark.parametrize("notify_type", ["", "TDMQ-CMQ", "CMQ", "tdmq-cmq"])
def test_queue_types_map_to_the_embedded_queue(notify_type: str) -> None:
    target = from_task_notify_config(
        {"NotifyType": notify_type, "CmqModel": "Queue", "QueueName": "mps-events"}
    )
    assert target is not None
    assert target.key() == NotifyTarget(type="queue", name="mps-events").key()
    assert (target.type, target.name, target.mode) == ("queue", "mps-events", "Finish")


def test_a_topic_becomes_a_queue_of_the_same_name() -> None:
    target = from_task_notify_config({"CmqModel": "Topic", "TopicName": "t1", "QueueName": "q"})
    assert target is not None and target.key() == NotifyTarget(name="t1").key()


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"NotifyType": "CMQ", "CmqModel": "Queue", "CmqRegion": "gz", "QueueName": "q"},
         {"NotifyType": "CMQ", "CmqModel": "Queue", "CmqRegion": "gz", "QueueName": "q"}),
        ({"NotifyType": "TDMQ-CMQ", "CmqModel": "Topic", "TopicName": "t"},
         {"NotifyType": "TDMQ-CMQ", "CmqModel": "Topic", "TopicName": "t", "QueueName": ""}),
        ({"QueueName": "q"}, {"NotifyType": "TDMQ-CMQ", "CmqModel": "Queue", "CmqRegion": ""}),
        ({"NotifyType": "URL", "NotifyUrl": "http://e.com/h"},
         {"NotifyType": "URL", "NotifyUrl": "http://e.com/h"}),
    ],
)  # fmt: skip
def test_the_echo_repeats_what_the_client_sent(
    sent: dict[str, str], expected: dict[str, str]
) -> None:
    echoed = to_task_notify_config(from_task_notify_config(sent))

    assert echoed is not None
    assert {k: echoed[k] for k in expected} == expected
    # The echo, sent back, names the same destination.
    again = from_task_notify_config(echoed)
    assert again is not None and again.key() == from_task_notify_config(sent).key()  # type: ignore[union-attr]


def test_url_with_notify_key_and_change_mode() -> None:
    target = from_task_notify_config(
        TaskNotifyConfig(
            notify_type="URL",
            notify_url="https://cb.example.com/mps",
            notify_key="k3y",
            notify_mode="Change",
        )
    )
    assert target is not None
    assert target.model_copy(update={"echo": None}) == NotifyTarget(
        type="url", url="https://cb.example.com/mps", notify_key="k3y", mode="Change"
    )


@pytest.mark.parametrize("config", [None, {}, {"NotifyType": "", "QueueName": ""}])
def test_absent_or_empty_config_means_no_notification(config: dict[str, str] | None) -> None:
    assert from_task_notify_config(config) is None


@pytest.mark.parametrize(
    ("config", "field", "code"),
    [
        ({"NotifyType": "URL"}, "TaskNotifyConfig.NotifyUrl", "InvalidParameterValue"),
        ({"NotifyType": "CMQ", "NotifyMode": "Change"}, "TaskNotifyConfig.QueueName", None),
        ({"NotifyType": "SCF"}, "TaskNotifyConfig.NotifyType", "InvalidParameterValue.NotifyType"),
        ({"NotifyType": "AWS-SQS", "AwsSQS": {"SQSQueueName": "q"}}, "TaskNotifyConfig.NotifyType",
         "InvalidParameterValue.NotifyType"),
        ({"NotifyType": "Pigeon"}, "TaskNotifyConfig.NotifyType",
         "InvalidParameterValue.NotifyType"),
        ({"NotifyType": "URL", "NotifyUrl": "not a url"}, "url", None),
        ({"QueueName": "bad name"}, "", None),
        ({"QueueName": "q", "Colour": "red"}, "Colour", None),
    ],
)  # fmt: skip
def test_unusable_configs_raise_spec_errors_naming_the_field(
    config: dict[str, object], field: str, code: str | None
) -> None:
    with pytest.raises(SpecError) as caught:
        from_task_notify_config(config)
    assert field in caught.value.field or field in caught.value.message
    if code is not None:
        assert caught.value.code == code


def test_targets_describe_themselves_as_task_notify_configs() -> None:
    assert to_task_notify_config(None) is None
    queue = to_task_notify_config(NotifyTarget(name="q", notify_key="k"))
    assert queue is not None
    assert (queue["NotifyType"], queue["CmqModel"], queue["QueueName"], queue["NotifyKey"]) == (
        "TDMQ-CMQ",
        "Queue",
        "q",
        "k",
    )
    again = from_task_notify_config(queue)
    assert again is not None and again.key() == NotifyTarget(name="q", notify_key="k").key()
    url = to_task_notify_config(NotifyTarget(type="url", url="http://e.com", mode="Change"))
    assert url is not None and (url["NotifyType"], url["NotifyUrl"], url["NotifyMode"]) == (
        "URL",
        "http://e.com",
        "Change",
    )
    redis = to_task_notify_config(NotifyTarget(type="redis", url="redis://h", stream="s"))
    assert redis is not None and redis["NotifyType"] == "REDIS"
