"""Parsing S3 event notifications (AWS, MinIO, SNS-wrapped) and mapping them to buckets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reelflow.errors import SpecError
from reelflow.triggers.base import ObjectNotice, Origin
from reelflow.triggers.s3_events import (
    S3Target,
    is_created,
    parse_event,
    resolve,
    token_buckets,
)


def record(bucket: str, key: str, event: str = "ObjectCreated:Put", etag: str = "abc") -> Any:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": event,
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 3, "eTag": etag, "sequencer": "0055AED6DCD90281E5"},
        },
    }


def test_aws_record_with_an_encoded_key() -> None:
    (parsed,) = parse_event({"Records": [record("src", "up/My+Holiday+%F0%9F%8E%AC.mp4")]})
    assert parsed.s3_bucket == "src"
    assert parsed.key == "up/My Holiday 🎬.mp4"
    assert parsed.etag == "abc"
    assert parsed.sequencer == "0055AED6DCD90281E5"


def test_minio_record_and_version_id() -> None:
    raw = record("src", "a%2Bb.mp4", event="s3:ObjectCreated:CompleteMultipartUpload")
    raw["s3"]["object"]["versionId"] = "v1"
    raw["s3"]["object"]["eTag"] = '"d41d8cd98f00b204e9800998ecf8427e-2"'
    body = {"EventName": raw["eventName"], "Key": "src/a+b.mp4", "Records": [raw]}
    (parsed,) = parse_event(body)
    assert parsed.key == "a+b.mp4"
    assert parsed.version_id == "v1"
    assert parsed.etag == "d41d8cd98f00b204e9800998ecf8427e-2"
    assert is_created(parsed.event)


def test_sns_envelope_is_unwrapped() -> None:
    inner = {"Records": [record("src", "x.mp4")]}
    envelope = {"Type": "Notification", "MessageId": "m", "Message": json.dumps(inner)}
    assert [r.key for r in parse_event(envelope)] == ["x.mp4"]


def test_the_s3_test_event_has_no_records() -> None:
    assert parse_event({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []


@pytest.mark.parametrize(
    "body",
    [[], {"records": []}, {"Records": [{"s3": {}}]}, {"Records": [{"s3": {"bucket": {"name": 1},
     "object": {"key": "k"}}}]}, {"Type": "Notification", "Message": "{nope"}],
)  # fmt: skip
def test_malformed_events_are_spec_errors(body: Any) -> None:
    with pytest.raises(SpecError):
        parse_event(body)


def test_resolve_maps_buckets_and_prefixes() -> None:
    targets = [
        S3Target("archive", "shared", prefix="archive/"),
        S3Target("whole", "shared"),
        S3Target("other", "elsewhere"),
    ]
    records = parse_event(
        {
            "Records": [
                record("shared", "archive/up/a.mp4"),
                record("shared", "loose.mp4"),
                record("unknown", "x.mp4"),
                record("elsewhere", "gone.mp4", event="ObjectRemoved:Delete"),
            ]
        }
    )
    resolved = resolve(records, targets)
    assert resolved.notices == [
        ObjectNotice("archive", "up/a.mp4", "abc", Origin.S3_EVENT),
        ObjectNotice("whole", "archive/up/a.mp4", "abc", Origin.S3_EVENT),
        ObjectNotice("whole", "loose.mp4", "abc", Origin.S3_EVENT),
    ]
    assert resolved.buckets == {"archive", "whole"}
    assert [i for i, _ in resolved.ignored] == [2, 3]
    assert "s3://unknown" in resolved.ignored[0][1]
    assert "ObjectRemoved" in resolved.ignored[1][1]


def test_token_buckets() -> None:
    targets = [
        S3Target("a", "s3a", hook_token="t1"),
        S3Target("b", "s3b", hook_token="t1"),
        S3Target("c", "s3c"),
    ]
    assert token_buckets("t1", targets) == {"a", "b"}
    assert token_buckets("", targets) == set()
    assert token_buckets("t2", targets) == set()
