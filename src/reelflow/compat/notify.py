"""The compatible API's ``TaskNotifyConfig`` <-> reelflow's ``NotifyTarget``.

    NotifyType ""/TDMQ-CMQ/CMQ  ->  embedded queue named QueueName (TopicName for a Topic)
    NotifyType URL              ->  webhook to NotifyUrl
    NotifyKey                   ->  notify_key (Timestamp + Sign in every body)
    NotifyMode Finish/Change    ->  mode
    SCF, AWS-SQS                ->  SpecError: not offered by reelflow

reelflow's embedded queue plays the part of the cloud's message queue: a client that read
CMQ now long-polls ``/v1/queues/{QueueName}/messages:receive``. ``CmqRegion`` has no
meaning here; it is kept, with ``NotifyType`` and ``CmqModel`` as sent, in the target's
``echo`` so that ``DescribeTaskDetail`` and ``DescribeWorkflows`` repeat what the client sent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from reelflow.errors import SpecError
from reelflow.specs.base import Spec, spec_error
from reelflow.specs.notify import NotifyTarget

_QUEUE_TYPES = frozenset({"", "TDMQ-CMQ", "CMQ"})
_UNSUPPORTED = frozenset({"SCF", "AWS-SQS"})
_FIELD = "TaskNotifyConfig"


class TaskNotifyConfig(Spec):
    """The compatible API's structure, as clients send it (PascalCase)."""

    notify_type: Annotated[str, Field(max_length=32)] = ""
    notify_mode: Literal["", "Finish", "Change"] = ""
    notify_url: Annotated[str, Field(max_length=2048)] = ""
    cmq_model: Literal["", "Queue", "Topic"] = ""
    cmq_region: Annotated[str, Field(max_length=64)] = ""
    topic_name: Annotated[str, Field(max_length=128)] = ""
    queue_name: Annotated[str, Field(max_length=128)] = ""
    aws_sqs: dict[str, Any] | None = Field(default=None, alias="AwsSQS")
    notify_key: Annotated[str, Field(max_length=256)] = ""

    def is_empty(self) -> bool:
        return not any(v for v in self.model_dump().values())


def from_task_notify_config(
    config: TaskNotifyConfig | dict[str, Any] | None,
) -> NotifyTarget | None:
    """The target for ``config``; ``None`` when it is absent or empty (no notification).

    ``SpecError`` (field ``TaskNotifyConfig.<Field>``) for a type reelflow does not offer
    or a config that names no destination."""
    if config is None:
        return None
    if not isinstance(config, TaskNotifyConfig):
        try:
            config = TaskNotifyConfig.model_validate(config)
        except ValidationError as exc:
            raise spec_error(exc, _FIELD) from None
    if config.is_empty():
        return None
    kind = config.notify_type.upper()
    mode = config.notify_mode or "Finish"
    fields: dict[str, Any] = {"mode": mode, "notify_key": config.notify_key}
    echo = {
        "NotifyType": config.notify_type,
        "CmqModel": config.cmq_model,
        "CmqRegion": config.cmq_region,
    }
    if any(echo.values()):
        fields["echo"] = {k: v for k, v in echo.items() if v}
    if kind == "URL":
        if not config.notify_url:
            raise SpecError(
                "TaskNotifyConfig.NotifyUrl: required when NotifyType is URL",
                field=f"{_FIELD}.NotifyUrl",
            )
        fields.update(type="url", url=config.notify_url)
    elif kind in _QUEUE_TYPES:
        topic = config.cmq_model == "Topic" or (not config.queue_name and config.topic_name)
        name = config.topic_name if topic else config.queue_name
        if not name:
            which = "TopicName" if config.cmq_model == "Topic" else "QueueName"
            raise SpecError(
                f"TaskNotifyConfig.{which}: name the queue that receives the events",
                field=f"{_FIELD}.{which}",
            )
        fields.update(type="queue", name=name)
    elif kind in _UNSUPPORTED:
        raise SpecError(
            f"TaskNotifyConfig.NotifyType: {config.notify_type} is not offered by reelflow; "
            "use TDMQ-CMQ (the embedded queue) or URL",
            code="InvalidParameterValue.NotifyType",
            field=f"{_FIELD}.NotifyType",
        )
    else:
        raise SpecError(
            f"TaskNotifyConfig.NotifyType: unknown type {config.notify_type!r}; use "
            "TDMQ-CMQ, CMQ or URL",
            code="InvalidParameterValue.NotifyType",
            field=f"{_FIELD}.NotifyType",
        )
    try:
        return NotifyTarget.model_validate(fields)
    except ValidationError as exc:
        raise spec_error(exc, _FIELD) from None


def to_task_notify_config(target: NotifyTarget | None) -> dict[str, Any] | None:
    """The ``TaskNotifyConfig`` that describes ``target`` (``DescribeTaskDetail``,
    ``DescribeWorkflows``); targets without a counterpart (Redis, AMQP) are reported with
    reelflow's own NotifyType names ``REDIS`` and ``AMQP``."""
    if target is None:
        return None
    config: dict[str, Any] = {
        "NotifyType": "TDMQ-CMQ",
        "NotifyMode": target.mode,
        "NotifyUrl": "",
        "CmqModel": "",
        "CmqRegion": "",
        "TopicName": "",
        "QueueName": "",
        "NotifyKey": target.notify_key,
    }
    echo = target.echo or {}
    if target.type == "queue":
        model = echo.get("CmqModel") or "Queue"
        name_field = "TopicName" if model == "Topic" else "QueueName"
        config.update({"CmqModel": model, name_field: target.name})
        config["CmqRegion"] = echo.get("CmqRegion", "")
        config["NotifyType"] = echo.get("NotifyType") or "TDMQ-CMQ"
    elif target.type == "url":
        config.update(NotifyType=echo.get("NotifyType") or "URL", NotifyUrl=target.url)
    else:
        config["NotifyType"] = target.type.upper()
    return config
