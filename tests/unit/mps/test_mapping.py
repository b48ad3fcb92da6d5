"""Mapping the compatible API's structures onto reelflow: storages, folders, notification
targets, media process tasks, field paths and error codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelflow.api.mps import locations
from reelflow.api.mps.context import ActionContext, ActionServices
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.mapping import (
    from_spec_error,
    media_process_task,
    mps_field,
    notify_target,
)
from reelflow.api.mps.params import Params, is_empty, to_int
from reelflow.compat.regions import fill_regions
from reelflow.errors import SpecError
from reelflow.storage.local.backend import LocalStorage
from reelflow.wiring.server import ServerServices
from tests.unit.mps.conftest import S3_BUCKET, S3_REGION


def action_services(runtime: ServerServices) -> ActionServices:
    return ActionServices(
        accounts=runtime.accounts,
        buckets=runtime.buckets,
        storages=runtime.storages,
        templates=runtime.templates,
        workflows=runtime.workflows,
        schedules=runtime.schedules,
        engine=runtime.engine,
        probe=runtime.jobs.probe_source,
        read_url=runtime.jobs.urls.read,
    )


@pytest.fixture
def ctx(runtime: ServerServices) -> ActionContext:
    return ActionContext(action_services(runtime), runtime.admin_account, "ap-guangzhou")


def code_of(fn: Any, *args: Any) -> str:
    with pytest.raises(MpsError) as caught:
        fn(*args)
    return caught.value.code


def message_of(fn: Any, *args: Any) -> str:
    with pytest.raises(MpsError) as caught:
        fn(*args)
    return caught.value.message


def cos(bucket: str = "media", region: str = "ap-guangzhou", obj: str = "/in/a.mp4") -> Params:
    info = {"Bucket": bucket, "Region": region, "Object": obj}
    return Params({"Type": "COS", "CosInputInfo": info}, "InputInfo")


# -- inputs -------------------------------------------------------------------------------


def test_cos_input_on_a_local_bucket_accepts_any_region(ctx: ActionContext) -> None:
    for region in ("ap-guangzhou", "eu-frankfurt"):
        source = locations.source(ctx, cos(region=region))
        assert (source.type, source.bucket, source.key) == ("bucket", "media", "in/a.mp4")


def test_cos_input_on_an_s3_bucket_checks_its_region(ctx: ActionContext) -> None:
    source = locations.source(ctx, cos(S3_BUCKET, S3_REGION))
    assert (source.bucket, source.key) == (S3_BUCKET, "in/a.mp4")
    assert code_of(locations.source, ctx, cos(S3_BUCKET, "ap-guangzhou")) == (
        "ResourceNotFound.CosBucketNotExist"
    )
    assert S3_REGION in message_of(locations.source, ctx, cos(S3_BUCKET, "ap-guangzhou"))


def test_unknown_bucket(ctx: ActionContext) -> None:
    assert code_of(locations.source, ctx, cos("nowhere")) == "ResourceNotFound.CosBucketNotExist"
    assert "InputInfo.CosInputInfo.Bucket" in message_of(locations.source, ctx, cos("nowhere"))


def test_another_accounts_bucket_is_unknown(runtime: ServerServices, tmp_path: Path) -> None:
    key = runtime.accounts.create_key("bob")
    runtime.storages.add(LocalStorage("bobs", tmp_path / "bobs"))
    runtime.buckets.ensure("bobs", key.account.id)
    admin = ActionContext(action_services(runtime), runtime.admin_account)
    bob = ActionContext(action_services(runtime), key.account)
    assert code_of(locations.source, admin, cos("bobs")) == "ResourceNotFound.CosBucketNotExist"
    assert locations.source(bob, cos("bobs")).bucket == "bobs"
    assert code_of(locations.source, bob, cos("media")) == "ResourceNotFound.CosBucketNotExist"


@pytest.mark.parametrize("obj", ["/", "/a/../b.mp4", ""])
def test_bad_object_key(ctx: ActionContext, obj: str) -> None:
    assert code_of(locations.source, ctx, cos(obj=obj)).startswith(
        ("InvalidParameterValue", "MissingParameter")
    )


def test_missing_cos_fields(ctx: ActionContext) -> None:
    p = Params({"Type": "COS"}, "InputInfo")
    assert message_of(locations.source, ctx, p) == "InputInfo.CosInputInfo is required"
    p = Params({"Type": "COS", "CosInputInfo": {"Bucket": "media", "Object": "/a"}}, "InputInfo")
    assert code_of(locations.source, ctx, p) == "MissingParameter"


def test_url_input(ctx: ActionContext) -> None:
    p = Params({"Type": "URL", "UrlInputInfo": {"Url": "https://example.test/a.mp4"}})
    source = locations.source(ctx, p)
    assert (source.type, source.url) == ("url", "https://example.test/a.mp4")
    bad = Params({"Type": "URL", "UrlInputInfo": {"Url": "ftp://example.test/a.mp4"}})
    assert code_of(locations.source, ctx, bad) == "InvalidParameter.InvalidUrl"


def s3_input(bucket: str = S3_BUCKET, region: str = S3_REGION, **extra: str) -> Params:
    info = {"S3Bucket": bucket, "S3Region": region, "S3Object": "/in/a.mp4", **extra}
    return Params({"Type": "AWS-S3", "S3InputInfo": info}, "InputInfo")


def test_s3_input_maps_to_the_configured_s3_bucket(ctx: ActionContext) -> None:
    source = locations.source(ctx, s3_input())
    assert (source.bucket, source.key) == (S3_BUCKET, "in/a.mp4")
    assert code_of(locations.source, ctx, s3_input(region="us-east-1")) == (
        "ResourceNotFound.CosBucketNotExist"
    )


def test_s3_input_cannot_name_a_local_bucket_or_carry_credentials(ctx: ActionContext) -> None:
    assert code_of(locations.source, ctx, s3_input("media")) == "UnsupportedOperation"
    with_secret = s3_input(S3SecretId="AKIA", S3SecretKey="x")
    assert code_of(locations.source, ctx, with_secret) == "UnsupportedOperation"
    assert "S3SecretId" in message_of(locations.source, ctx, with_secret)
    assert locations.source(ctx, s3_input(S3SecretId="", S3SecretKey="")).bucket == S3_BUCKET


@pytest.mark.parametrize(
    ("kind", "code"), [("VOD", "UnsupportedOperation"), ("FTP", "InvalidParameterValue.Type")]
)
def test_other_input_types(ctx: ActionContext, kind: str, code: str) -> None:
    assert code_of(locations.source, ctx, Params({"Type": kind})) == code


def test_unknown_input_field_is_unsupported(ctx: ActionContext) -> None:
    p = Params({"Type": "COS", "CosInputInfo": {}, "VODInputInfo": {"FileId": "1"}}, "InputInfo")
    assert message_of(locations.source, ctx, p).startswith("InputInfo.VODInputInfo is not")


# -- outputs ------------------------------------------------------------------------------


def test_output_storage(ctx: ActionContext) -> None:
    def out(data: dict[str, Any]) -> str:
        return locations.output_bucket(ctx, Params(data, "OutputStorage"))

    assert locations.output_bucket(ctx, None) == ""
    assert out({"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": "x"}}) == "media"
    assert out({"Type": "COS", "CosOutputStorage": {"Region": "x"}}) == ""  # inherit
    s3 = {"S3Bucket": S3_BUCKET, "S3Region": S3_REGION}
    assert out({"Type": "AWS-S3", "S3OutputStorage": s3}) == S3_BUCKET
    assert code_of(out, {"Type": "COS"}) == "MissingParameter"
    assert code_of(out, {"Type": "VOD"}) == "UnsupportedOperation"
    assert code_of(out, {"Type": "COS", "CosOutputStorage": {"Bucket": "nope"}}) == (
        "ResourceNotFound.CosBucketNotExist"
    )


def test_sub_task_storage_spec(ctx: ActionContext) -> None:
    storage = Params(
        {"Type": "AWS-S3", "S3OutputStorage": {"S3Bucket": S3_BUCKET, "S3Region": S3_REGION}}
    )
    assert locations.storage_spec(ctx, storage) == {
        "Type": "COS",
        "CosOutputStorage": {"Bucket": S3_BUCKET, "Region": S3_REGION},
    }


@pytest.mark.parametrize("value", ["", "/", "/out/", "/a/b/"])
def test_output_dir_accepted(value: str) -> None:
    assert locations.output_dir(Params({"OutputDir": value}), "OutputDir") == value


@pytest.mark.parametrize("value", ["out/", "/out", "out", "/a/../b/"])
def test_output_dir_rejected(value: str) -> None:
    p = Params({"OutputDir": value})
    assert code_of(locations.output_dir, p, "OutputDir") == "InvalidParameterValue.OutputDir"


def test_fill_regions(ctx: ActionContext) -> None:
    doc = {
        "InputInfo": {"CosInputInfo": {"Bucket": "media", "Region": "", "Object": "/a"}},
        "Out": [{"CosOutputStorage": {"Bucket": S3_BUCKET, "Region": ""}}],
        "Kept": {"Bucket": "media", "Region": "given"},
    }
    filled = fill_regions(doc, ctx.region_of)
    assert filled["InputInfo"]["CosInputInfo"]["Region"] == "ap-guangzhou"  # the caller's
    assert filled["Out"][0]["CosOutputStorage"]["Region"] == S3_REGION  # configured
    assert filled["Kept"]["Region"] == "given"


# -- notification targets -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["", "TDMQ-CMQ", "CMQ", "tdmq-cmq"])
def test_queue_notify(kind: str) -> None:
    target = notify_target(Params({"NotifyType": kind, "QueueName": "events", "CmqRegion": "gz"}))
    assert target is not None
    assert (target.type, target.name, target.mode) == ("queue", "events", "Finish")


def test_url_notify_with_key() -> None:
    config = {
        "NotifyType": "URL",
        "NotifyUrl": "http://127.0.0.1:9/hook",
        "NotifyKey": "k",
        "NotifyMode": "Change",
    }
    target = notify_target(Params(config))
    assert target is not None
    assert (target.type, target.url, target.notify_key, target.mode) == (
        "url",
        "http://127.0.0.1:9/hook",
        "k",
        "Change",
    )


def test_notify_errors() -> None:
    p = Params({"NotifyType": "URL"}, "TaskNotifyConfig")
    assert message_of(notify_target, p) == "TaskNotifyConfig.NotifyUrl is required"
    p = Params({"NotifyType": "TDMQ-CMQ", "NotifyMode": "Finish"}, "TaskNotifyConfig")
    assert message_of(notify_target, p) == "TaskNotifyConfig.QueueName is required"
    for kind in ("SCF", "AWS-SQS"):
        assert code_of(notify_target, Params({"NotifyType": kind})) == "UnsupportedOperation"
    p = Params({"NotifyType": "URL", "NotifyUrl": "not a url"}, "TaskNotifyConfig")
    assert code_of(notify_target, p).startswith("InvalidParameterValue")
    p = Params({"NotifyType": "Kafka", "QueueName": "q"}, "TaskNotifyConfig")
    assert code_of(notify_target, p) == "InvalidParameterValue.NotifyType"


def test_empty_notify_config_is_none() -> None:
    assert notify_target(None) is None
    assert notify_target(Params({})) is None
    assert notify_target(Params({"NotifyType": "", "QueueName": ""})) is None


# -- media process tasks -------------------------------------------------------------------


def mpt(ctx: ActionContext, data: dict[str, Any]) -> Any:
    return media_process_task(ctx, Params(data, "MediaProcessTask"))


def test_media_process_task(ctx: ActionContext) -> None:
    task = mpt(
        ctx,
        {
            "TranscodeTaskSet": [
                {
                    "Definition": "100010",
                    "MosaicSet": [],
                    "HeadTailParameter": None,
                    "OutputStorage": {
                        "Type": "AWS-S3",
                        "S3OutputStorage": {"S3Bucket": S3_BUCKET, "S3Region": S3_REGION},
                    },
                }
            ],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
            "AdaptiveDynamicStreamingTaskSet": [],
        },
    )
    assert task.transcode_task_set[0].definition == 100010
    assert task.transcode_task_set[0].output_storage.bucket == S3_BUCKET
    assert task.snapshot_by_time_offset_task_set[0].ext_time_offset_set == ["1s"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"TranscodeTaskSet": [{"Definition": 10, "MosaicSet": [{"Width": "10%"}]}]},
            "MediaProcessTask.TranscodeTaskSet.0.MosaicSet",
        ),
        (
            {
                "TranscodeTaskSet": [
                    {"Definition": 10, "OverrideParameter": {"TEHDConfig": {"Type": "TEHD-100"}}}
                ]
            },
            "MediaProcessTask.TranscodeTaskSet.0.OverrideParameter.TEHDConfig",
        ),
        (
            {"TranscodeTaskSet": [{"Definition": 10, "HeadTailParameter": {"MidSet": [1]}}]},
            "MediaProcessTask.TranscodeTaskSet.0.HeadTailParameter.MidSet",
        ),
        (
            {
                "AdaptiveDynamicStreamingTaskSet": [
                    {"Definition": 10, "WatermarkSet": [{"Definition": 1}]}
                ]
            },
            "MediaProcessTask.AdaptiveDynamicStreamingTaskSet.0.WatermarkSet",
        ),
        (
            {
                "TranscodeTaskSet": [
                    {"Definition": 10, "WatermarkSet": [{"Definition": 0, "RawParameter": {}}]}
                ]
            },
            None,
        ),  # empty: dropped, then the missing raw parameter is the error
        (
            {
                "TranscodeTaskSet": [
                    {
                        "Definition": 0,
                        "RawParameter": {
                            "Container": "mp4",
                            "TEHDConfig": {"Type": "TEHD-100"},
                            "RemoveVideo": 1,
                            "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
                        },
                    }
                ]
            },
            "MediaProcessTask.TranscodeTaskSet.0.RawParameter.TEHDConfig",
        ),
    ],
)
def test_unsupported_fields_are_named(
    ctx: ActionContext, data: dict[str, Any], field: str | None
) -> None:
    with pytest.raises(MpsError) as caught:
        mpt(ctx, data)
    if field is None:
        assert caught.value.code.startswith("InvalidParameterValue")
    else:
        assert caught.value.code == "UnsupportedOperation"
        assert caught.value.message.startswith(field + " is not supported")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"TranscodeTaskSet": [{}]}, "MediaProcessTask.TranscodeTaskSet.0.Definition"),
        (
            {"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0}]},
            "MediaProcessTask.AnimatedGraphicTaskSet.0.EndTimeOffset",
        ),
        (
            {"TranscodeTaskSet": [{"Definition": 0, "RawParameter": {"Container": "mp4"}}]},
            "MediaProcessTask.TranscodeTaskSet.0.RawParameter.VideoTemplate",
        ),
        (
            {
                "TranscodeTaskSet": [
                    {
                        "Definition": 0,
                        "RawParameter": {
                            "Container": "mp4",
                            "VideoTemplate": {"Codec": "h264", "Fps": 0},
                        },
                    }
                ]
            },
            "MediaProcessTask.TranscodeTaskSet.0.RawParameter.VideoTemplate.Bitrate",
        ),
        (
            {
                "TranscodeTaskSet": [
                    {
                        "Definition": 0,
                        "RawParameter": {
                            "Container": "mp3",
                            "AudioTemplate": {"Codec": "mp3", "Bitrate": 128},
                        },
                    }
                ]
            },
            "MediaProcessTask.TranscodeTaskSet.0.RawParameter.AudioTemplate.SampleRate",
        ),
        (
            {"TranscodeTaskSet": [{"Definition": 10, "OutputStorage": {}}]},
            "MediaProcessTask.TranscodeTaskSet.0.OutputStorage.Type",
        ),
    ],
)
def test_required_fields(ctx: ActionContext, data: dict[str, Any], field: str) -> None:
    with pytest.raises(MpsError) as caught:
        mpt(ctx, data)
    assert (caught.value.code, caught.value.message) == ("MissingParameter", f"{field} is required")


def test_bad_values_name_the_field(ctx: ActionContext) -> None:
    data = {"TranscodeTaskSet": [{"Definition": "ten"}]}
    assert code_of(mpt, ctx, data) == "InvalidParameterValue.Definition"
    assert code_of(mpt, ctx, {}) == "InvalidParameterValue.MediaProcessTask"  # no sub-task
    data = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["soon"]}]}
    assert code_of(mpt, ctx, data) == "InvalidParameterValue.ExtTimeOffsetSet"
    assert code_of(mpt, ctx, {"TranscodeTaskSet": {"Definition": 10}}) == (
        "InvalidParameterValue.TranscodeTaskSet"
    )


# -- field paths and engine errors --------------------------------------------------------


def test_mps_field() -> None:
    renames = {"source": "InputInfo", "output_bucket": "OutputStorage.CosOutputStorage.Bucket"}
    assert mps_field("media_process_task.transcode_task_set[0].definition", renames) == (
        "MediaProcessTask.TranscodeTaskSet.0.Definition"
    )
    assert mps_field("source.bucket", renames) == "InputInfo.Bucket"
    assert mps_field("output_bucket", renames) == "OutputStorage.CosOutputStorage.Bucket"
    assert mps_field("TaskNotifyConfig.NotifyUrl", {}) == "TaskNotifyConfig.NotifyUrl"
    assert mps_field("", renames) == ""


def test_from_spec_error() -> None:
    exc = SpecError(
        "media_process_task.transcode_task_set[0].definition: no Transcode template with "
        "definition 5",
        code="ResourceNotFound.TemplateNotExist",
        field="media_process_task.transcode_task_set[0].definition",
    )
    error = from_spec_error(exc, {})
    assert error.code == "ResourceNotFound.TemplateNotExist"
    assert error.message.startswith("MediaProcessTask.TranscodeTaskSet.0.Definition: no ")
    plain = from_spec_error(SpecError("bad", field="output_dir"), {"output_dir": "OutputDir"})
    assert plain.code == "InvalidParameterValue.OutputDir"
    bucket = SpecError("x", code="ResourceNotFound.BucketNotExist", field="trigger.bucket")
    assert from_spec_error(bucket, {}).code == "ResourceNotFound.CosBucketNotExist"


# -- parameters ---------------------------------------------------------------------------


def test_lenient_numbers_and_flags() -> None:
    assert to_int("5", "Limit") == 5
    assert to_int(5.0, "Limit") == 5
    for bad in ("five", 5.5, True, None):
        with pytest.raises(MpsError):
            to_int(bad, "Limit")
    p = Params({"A": "true", "B": 0, "C": "1", "D": "maybe"})
    assert (p.flag("A"), p.flag("B"), p.flag("C"), p.flag("X")) == (True, False, True, None)
    assert code_of(p.flag, "D") == "InvalidParameterValue.D"


def test_integer_bounds() -> None:
    assert Params({"Limit": "200"}).integer("Limit") == 200
    assert Params({}).integer("Limit", 10) == 10
    p = Params({"Limit": "200"}, "")
    with pytest.raises(MpsError) as caught:
        p.integer("Limit", 10, low=1, high=100)
    assert caught.value.code == "InvalidParameterValue.Limit"


def test_is_empty() -> None:
    assert all(is_empty(v) for v in (None, "", [], {}, {"A": "", "B": {"C": None}}))
    assert not any(is_empty(v) for v in (0, False, "x", [0], {"A": 1}))


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/logo.png", "http://10.1.2.3/logo.png", "http://localhost/logo.png"],
)
def test_an_inline_watermark_image_url_goes_through_the_egress_policy(
    ctx: ActionContext, url: str
) -> None:
    """The image is fetched when the request arrives, through the egress policy: a refused
    address is InvalidParameter.InvalidUrl naming the field, and nothing is connected to."""
    mark = {
        "Definition": 0,
        "RawParameter": {
            "Type": "image",
            "ImageTemplate": {"ImageContent": {"Type": "URL", "UrlInputInfo": {"Url": url}}},
        },
    }
    with pytest.raises(MpsError) as caught:
        mpt(ctx, {"SampleSnapshotTaskSet": [{"Definition": 10, "WatermarkSet": [mark]}]})
    assert caught.value.code == "InvalidParameter.InvalidUrl"
    assert caught.value.message.startswith(
        "MediaProcessTask.SampleSnapshotTaskSet.0.WatermarkSet.0.RawParameter.ImageTemplate"
        ".ImageContent.UrlInputInfo.Url: "
    ), caught.value.message
