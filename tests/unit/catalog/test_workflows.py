"""Workflows: validation naming the field, CRUD, enable/disable, upload matching, requests."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelflow.catalog.accounts import Account
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import Workflows
from reelflow.errors import SpecError, WorkflowNotFound
from reelflow.specs.requests import TaskSource
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.templates import SnapshotTemplate, TemplateKind
from reelflow.specs.workflows import MEDIA_FORMATS, WorkflowSpec, WorkflowTrigger
from tests.unit.engine.fakes import FakeClock

MPT = {"transcode_task_set": [{"definition": 100010}]}


def spec(**fields: Any) -> WorkflowSpec:
    data: dict[str, Any] = {"name": "web", "trigger": {"bucket": "in"}, "media_process_task": MPT}
    data.update(fields)
    return WorkflowSpec.model_validate(data)


def upload(key: str, bucket: str = "in") -> TaskSource:
    return TaskSource(type="bucket", bucket=bucket, key=key)


def test_new_workflows_are_disabled(workflows: Workflows, alice: Account) -> None:
    flow = workflows.create(alice.id, spec())
    assert not flow.enabled
    assert (flow.account_id, flow.name, flow.spec) == (alice.id, "web", spec())
    assert workflows.create(alice.id, spec(name="on"), enabled=True).enabled
    assert workflows.get(alice.id, flow.id) == flow


def test_trigger_is_normalized() -> None:
    trigger = WorkflowTrigger(bucket="in", dir="/up/videos", formats=[".MP4", "mov", "mp4"])
    assert (trigger.dir, trigger.formats) == ("up/videos/", ["mp4", "mov"])
    assert WorkflowTrigger(bucket="in", dir="/").dir == ""
    for bad in ({"dir": "up/../etc"}, {"formats": ["m p4"]}, {"bucket": ""}):
        with pytest.raises(ValidationError):
            WorkflowTrigger.model_validate({"bucket": "in", **bad})
    assert len(MEDIA_FORMATS) == 22


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"trigger": {"bucket": "nope"}}, "trigger.bucket", "ResourceNotFound.BucketNotExist"),
        ({"trigger": {"bucket": "bob-in"}}, "trigger.bucket", "ResourceNotFound.BucketNotExist"),
        ({"output_bucket": "bob-in"}, "output_bucket", "ResourceNotFound.BucketNotExist"),
        (
            {"media_process_task": {"transcode_task_set": [{"definition": 999}]}},
            "media_process_task.transcode_task_set[0].definition",
            "ResourceNotFound.TemplateNotExist",
        ),
        (
            {
                "media_process_task": {
                    "transcode_task_set": [
                        {"definition": 100010, "watermark_set": [{"definition": 5}]}
                    ]
                }
            },
            "media_process_task.transcode_task_set[0].watermark_set[0].definition",
            "ResourceNotFound.TemplateNotExist",
        ),
        (
            {
                "media_process_task": {
                    "sample_snapshot_task_set": [
                        {
                            "definition": 10,
                            "output_storage": {"cos_output_storage": {"bucket": "x"}},
                        }
                    ]
                }
            },
            "media_process_task.sample_snapshot_task_set[0].output_storage.cos_output_storage.bucket",
            "ResourceNotFound.BucketNotExist",
        ),
        (
            {
                "media_process_task": {
                    "transcode_task_set": [{"definition": 100010, "output_object_path": "a.mp4"}]
                }
            },
            "media_process_task.transcode_task_set[0].output_object_path",
            "InvalidParameterValue",
        ),
    ],
)
def test_validation_errors_name_the_field(
    workflows: Workflows,
    alice: Account,
    bob: Account,
    fields: dict[str, Any],
    field: str,
    code: str,
) -> None:
    with pytest.raises(SpecError) as info:
        workflows.create(alice.id, spec(**fields))
    assert (info.value.field, info.value.code) == (field, code)
    assert field in info.value.message
    assert workflows.list(alice.id) == ([], 0)


def test_custom_templates_of_the_account_only(
    workflows: Workflows, templates: Templates, alice: Account, bob: Account
) -> None:
    shot = templates.create(alice.id, TemplateKind.SNAPSHOT, SnapshotTemplate())
    task = {"definition": shot.definition, "ext_time_offset_set": ["1s"]}
    mpt = {"snapshot_by_time_offset_task_set": [task]}
    workflows.create(alice.id, spec(media_process_task=mpt))
    with pytest.raises(SpecError) as info:
        workflows.create(bob.id, spec(trigger={"bucket": "bob-in"}, media_process_task=mpt))
    assert info.value.code == "ResourceNotFound.TemplateNotExist"


def test_names_are_unique_per_account(workflows: Workflows, alice: Account, bob: Account) -> None:
    first = workflows.create(alice.id, spec())
    with pytest.raises(SpecError) as info:
        workflows.create(alice.id, spec())
    assert info.value.field == "name"
    assert workflows.create(bob.id, spec(trigger={"bucket": "bob-in"})).name == "web"
    other = workflows.create(alice.id, spec(name="other"))
    with pytest.raises(SpecError):
        workflows.replace(alice.id, other.id, spec())
    workflows.replace(alice.id, first.id, spec(priority=5))  # its own name is fine


def test_replace_keeps_the_enabled_state(
    workflows: Workflows, alice: Account, clock: FakeClock
) -> None:
    flow = workflows.create(alice.id, spec(), enabled=True)
    clock.advance(10)
    new = spec(name="renamed", trigger={"bucket": "in", "dir": "new/"}, priority=-3)
    replaced = workflows.replace(alice.id, flow.id, new)
    assert replaced.enabled and replaced.spec == new and replaced.name == "renamed"
    assert replaced.updated_at == clock.now and replaced.created_at == flow.created_at
    with pytest.raises(SpecError):
        workflows.replace(alice.id, flow.id, spec(trigger={"bucket": "nope"}))


def test_enable_and_disable_are_idempotent(workflows: Workflows, alice: Account) -> None:
    flow = workflows.create(alice.id, spec())
    assert workflows.enable(alice.id, flow.id).enabled
    assert workflows.enable(alice.id, flow.id).enabled
    assert not workflows.disable(alice.id, flow.id).enabled
    assert not workflows.disable(alice.id, flow.id).enabled


def test_list_filters_and_pages(workflows: Workflows, alice: Account) -> None:
    ids = [workflows.create(alice.id, spec(name=f"w{i}")).id for i in range(5)]
    workflows.enable(alice.id, ids[1])
    workflows.enable(alice.id, ids[3])
    records, total = workflows.list(alice.id, offset=1, limit=2)
    assert total == 5 and [r.id for r in records] == ids[1:3]
    enabled, total = workflows.list(alice.id, enabled=True)
    assert total == 2 and [r.id for r in enabled] == [ids[1], ids[3]]
    picked, total = workflows.list(alice.id, ids=[ids[0], ids[4], 999])
    assert total == 2 and [r.id for r in picked] == [ids[0], ids[4]]
    with pytest.raises(SpecError) as info:
        workflows.list(alice.id, limit=101)
    assert info.value.field == "limit"


def test_delete(workflows: Workflows, alice: Account) -> None:
    flow = workflows.create(alice.id, spec(), enabled=True)
    workflows.delete(alice.id, flow.id)
    with pytest.raises(WorkflowNotFound) as info:
        workflows.get(alice.id, flow.id)
    assert info.value.code == "ResourceNotFound.WorkflowNotExist"
    with pytest.raises(WorkflowNotFound):
        workflows.delete(alice.id, flow.id)


def test_matching_uploads(workflows: Workflows, alice: Account) -> None:
    anything = workflows.create(alice.id, spec(name="all"), enabled=True)
    videos = workflows.create(
        alice.id,
        spec(name="videos", trigger={"bucket": "in", "dir": "/up/", "formats": ["MOV"]}),
        enabled=True,
    )
    raw = workflows.create(
        alice.id, spec(name="raw", trigger={"bucket": "in", "formats": ["*"]}), enabled=True
    )
    workflows.create(alice.id, spec(name="off"))  # disabled: never matches

    def names(key: str, bucket: str = "in") -> list[str]:
        return [w.name for w in workflows.matching(bucket, key)]

    assert names("clip.mp4") == [anything.name, raw.name]
    assert names("/up/Clip.MOV") == [anything.name, videos.name, raw.name]
    assert names("up/deeper/a.mov") == [anything.name, videos.name, raw.name]
    assert names("upx/a.mov") == [anything.name, raw.name]
    assert names("notes.txt") == [raw.name]
    assert names("README") == [raw.name]
    assert names("up/") == []
    assert names("clip.mp4", bucket="alice-out") == []


def test_request_for_an_upload(workflows: Workflows, alice: Account) -> None:
    plain = workflows.create(alice.id, spec(priority=7))
    request = workflows.request_for(plain, upload("up/a.mp4"))
    assert request.workflow_id == plain.id and request.priority == 7
    assert request.resolved_output_bucket() == "in"
    assert request.resolved_output_dir() == "up/"
    assert request.media_process_task == MediaProcessTask.model_validate(MPT)
    routed = workflows.create(
        alice.id, spec(name="routed", output_bucket="alice-out", output_dir="/done")
    )
    request = workflows.request_for(routed, upload("up/a.mp4"))
    assert request.resolved_output_bucket() == "alice-out"
    assert request.resolved_output_dir() == "done/"
