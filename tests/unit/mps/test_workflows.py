"""Workflow actions: the life cycle, the disabled-only rules and the request checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.mps.conftest import S3_BUCKET, S3_REGION, Call, error_code


def workflow(**extra: Any) -> dict[str, Any]:
    return {
        "WorkflowName": "up",
        "Trigger": {
            "Type": "CosFileUpload",
            "CosFileUploadTrigger": {
                "Bucket": "media",
                "Region": "ap-guangzhou",
                "Dir": "/up/",
                "Formats": ["MP4", ".mov"],
            },
        },
        "OutputDir": "/out/",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "ImageSpriteTaskSet": [{"Definition": 10}],
        },
        "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "CmqModel": "Queue", "QueueName": "events"},
        "TaskPriority": "3",
        **extra,
    }


def info(call: Call, workflow_id: int) -> dict[str, Any]:
    answer = call("DescribeWorkflows", {"WorkflowIds": [workflow_id]})
    assert answer["TotalCount"] == 1, answer
    found: dict[str, Any] = answer["WorkflowInfoSet"][0]
    return found


def test_life_cycle(call: Call) -> None:
    workflow_id = call("CreateWorkflow", workflow())["WorkflowId"]
    doc = info(call, workflow_id)
    assert doc["Status"] == "Disabled"  # new workflows start disabled
    assert doc["WorkflowName"] == "up"
    assert doc["Trigger"] == {
        "Type": "CosFileUpload",
        "CosFileUploadTrigger": {
            "Bucket": "media",
            "Region": "ap-guangzhou",
            "Dir": "/up/",
            "Formats": ["mp4", "mov"],
        },
        "AwsS3FileUploadTrigger": None,
    }
    assert doc["OutputStorage"]["CosOutputStorage"] == {"Bucket": "media", "Region": "ap-guangzhou"}
    assert doc["OutputDir"] == "/out/"
    assert doc["MediaProcessTask"]["TranscodeTaskSet"][0]["Definition"] == 100010
    assert doc["MediaProcessTask"]["ImageSpriteTaskSet"][0]["Definition"] == 10
    assert doc["TaskNotifyConfig"]["QueueName"] == "events"
    assert doc["TaskNotifyConfig"]["NotifyType"] == "TDMQ-CMQ"
    assert doc["TaskPriority"] == 3
    assert doc["CreateTime"].endswith("Z")

    assert "Error" not in call("EnableWorkflow", {"WorkflowId": workflow_id})
    assert "Error" not in call("EnableWorkflow", {"WorkflowId": str(workflow_id)})  # idempotent
    assert info(call, workflow_id)["Status"] == "Enabled"
    reset = call("ResetWorkflow", {"WorkflowId": workflow_id, **workflow(WorkflowName="x")})
    assert error_code(reset) == "FailedOperation"
    assert error_code(call("DeleteWorkflow", {"WorkflowId": workflow_id})) == "FailedOperation"

    assert "Error" not in call("DisableWorkflow", {"WorkflowId": workflow_id})
    assert "Error" not in call("DisableWorkflow", {"WorkflowId": workflow_id})
    replaced = {"WorkflowId": workflow_id, **workflow(WorkflowName="renamed")}
    del replaced["TaskNotifyConfig"], replaced["OutputDir"]
    assert "Error" not in call("ResetWorkflow", replaced)
    doc = info(call, workflow_id)
    assert (doc["WorkflowName"], doc["Status"]) == ("renamed", "Disabled")
    assert doc["TaskNotifyConfig"] is None  # a whole replacement, not a merge
    assert doc["OutputDir"] == ""

    assert "Error" not in call("DeleteWorkflow", {"WorkflowId": workflow_id})
    assert call("DescribeWorkflows", {"WorkflowIds": [workflow_id]})["TotalCount"] == 0
    for action in ("EnableWorkflow", "DisableWorkflow", "DeleteWorkflow"):
        assert error_code(call(action, {"WorkflowId": workflow_id})) == "ResourceNotFound"


def test_describe_filters(call: Call) -> None:
    ids = [call("CreateWorkflow", workflow(WorkflowName=f"w{i}"))["WorkflowId"] for i in range(3)]
    call("EnableWorkflow", {"WorkflowId": ids[1]})
    assert call("DescribeWorkflows", {})["TotalCount"] == 3
    enabled = call("DescribeWorkflows", {"Status": "Enabled"})
    assert [w["WorkflowId"] for w in enabled["WorkflowInfoSet"]] == [ids[1]]
    assert call("DescribeWorkflows", {"Status": "Disabled"})["TotalCount"] == 2
    page = call("DescribeWorkflows", {"Offset": "1", "Limit": "1"})
    assert (page["TotalCount"], [w["WorkflowId"] for w in page["WorkflowInfoSet"]]) == (3, [ids[1]])
    assert error_code(call("DescribeWorkflows", {"Status": "On"})) == "InvalidParameterValue.Status"


def test_names_are_unique(call: Call) -> None:
    call("CreateWorkflow", workflow())
    assert error_code(call("CreateWorkflow", workflow())) == "InvalidParameterValue.WorkflowName"


def test_output_on_an_s3_bucket(call: Call) -> None:
    storage = {"Type": "COS", "CosOutputStorage": {"Bucket": S3_BUCKET, "Region": S3_REGION}}
    workflow_id = call("CreateWorkflow", workflow(OutputStorage=storage))["WorkflowId"]
    assert info(call, workflow_id)["OutputStorage"]["CosOutputStorage"] == {
        "Bucket": S3_BUCKET,
        "Region": S3_REGION,
    }
    wrong = {"Type": "COS", "CosOutputStorage": {"Bucket": S3_BUCKET, "Region": "ap-guangzhou"}}
    answer = call("CreateWorkflow", workflow(WorkflowName="b", OutputStorage=wrong))
    assert error_code(answer) == "ResourceNotFound.CosBucketNotExist"


def trigger(**fields: Any) -> dict[str, Any]:
    cos = {"Bucket": "media", "Region": "ap-guangzhou", **fields}
    return {"Type": "CosFileUpload", "CosFileUploadTrigger": cos}


@pytest.mark.parametrize(
    ("change", "code", "where"),
    [
        ({"WorkflowName": None}, "MissingParameter", "WorkflowName"),
        ({"Trigger": None}, "MissingParameter", "Trigger"),
        ({"MediaProcessTask": None}, "MissingParameter", "MediaProcessTask"),
        (
            {"Trigger": {"Type": "CosFileUpload"}},
            "MissingParameter",
            "Trigger.CosFileUploadTrigger",
        ),
        (
            {"Trigger": {"Type": "CosFileUpload", "CosFileUploadTrigger": {"Bucket": "media"}}},
            "MissingParameter",
            "Trigger.CosFileUploadTrigger.Region",
        ),
        (
            {"Trigger": trigger(Dir="up/")},
            "InvalidParameterValue.Dir",
            "Trigger.CosFileUploadTrigger.Dir",
        ),
        (
            {"Trigger": trigger(Bucket="nope")},
            "ResourceNotFound.CosBucketNotExist",
            "Trigger.CosFileUploadTrigger.Bucket",
        ),
        (
            {"Trigger": trigger(Formats=["m p4"])},
            "InvalidParameterValue.Formats",
            "Trigger.CosFileUploadTrigger.Formats",
        ),
        (
            {
                "Trigger": {
                    "Type": "AwsS3FileUpload",
                    "AwsS3FileUploadTrigger": {"S3Bucket": S3_BUCKET, "S3Region": S3_REGION},
                }
            },
            "UnsupportedOperation",
            "Trigger.Type",
        ),
        ({"AiAnalysisTask": {"Definition": 10}}, "UnsupportedOperation", "AiAnalysisTask"),
        ({"OutputDir": "out"}, "InvalidParameterValue.OutputDir", "OutputDir"),
        ({"TaskPriority": 11}, "InvalidParameterValue.TaskPriority", "TaskPriority"),
        (
            {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 1234567}]}},
            "ResourceNotFound.TemplateNotExist",
            "MediaProcessTask.TranscodeTaskSet.0.Definition",
        ),
        (
            {"TaskNotifyConfig": {"NotifyType": "SCF"}},
            "UnsupportedOperation",
            "TaskNotifyConfig.NotifyType",
        ),
    ],
)
def test_create_errors(call: Call, change: dict[str, Any], code: str, where: str) -> None:
    params = {k: v for k, v in {**workflow(), **change}.items() if v is not None}
    answer = call("CreateWorkflow", params)
    assert error_code(answer) == code
    assert answer["Error"]["Message"].startswith(where), answer["Error"]["Message"]


def test_empty_out_of_subset_fields_are_fine(call: Call) -> None:
    params = workflow(
        AiAnalysisTask={}, AiRecognitionTask=None, AiContentReviewTask={"Definition": ""}
    )
    assert "WorkflowId" in call("CreateWorkflow", params)


def test_reset_needs_id_and_existing_workflow(call: Call) -> None:
    assert error_code(call("ResetWorkflow", workflow())) == "MissingParameter"
    answer = call("ResetWorkflow", {"WorkflowId": 999, **workflow()})
    assert error_code(answer) == "ResourceNotFound"
    assert error_code(call("EnableWorkflow", {})) == "MissingParameter"
    assert error_code(call("EnableWorkflow", {"WorkflowId": "x"})) == (
        "InvalidParameterValue.WorkflowId"
    )
