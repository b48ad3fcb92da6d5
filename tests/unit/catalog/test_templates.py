"""Custom templates: numbering, presets beside them, read-only presets, quotas, in-use."""

from __future__ import annotations

import pytest

from reelflow.catalog.accounts import Account
from reelflow.catalog.templates import PRESETS_CREATED, Templates
from reelflow.catalog.workflows import Workflows
from reelflow.errors import LimitExceeded, SpecError, TemplateInUse, TemplateNotFound
from reelflow.presets.catalog import CUSTOM_ID_START, list_presets
from reelflow.specs.tasks import MediaProcessTask, TranscodeTaskInput, WatermarkInput
from reelflow.specs.templates import (
    AudioTemplate,
    SnapshotTemplate,
    TemplateKind,
    TextWatermark,
    TranscodeTemplate,
    VideoTemplate,
    WatermarkTemplate,
)
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger
from tests.clips import TINY_PNG_B64
from tests.unit.engine.fakes import FakeClock

T = TemplateKind


def transcode(name: str = "my-720p", bitrate: int = 1500) -> TranscodeTemplate:
    return TranscodeTemplate(
        container="mp4",
        name=name,
        comment="for the web",
        video_template=VideoTemplate(codec="h264", bitrate=bitrate, height=720),
        audio_template=AudioTemplate(codec="aac", bitrate=128),
    )


def text_mark() -> WatermarkTemplate:
    return WatermarkTemplate(type="text", text_template=TextWatermark(text_content="hi"))


def test_definitions_start_at_one_million_in_one_sequence(
    templates: Templates, alice: Account
) -> None:
    first = templates.create(alice.id, T.TRANSCODE, transcode())
    second = templates.create(alice.id, T.SNAPSHOT, SnapshotTemplate(name="shot"))
    third = templates.create(alice.id, T.TRANSCODE, transcode("other"))
    assert first.definition >= CUSTOM_ID_START
    assert [second.definition, third.definition] == [first.definition + 1, first.definition + 2]
    assert (first.type, first.name, first.comment) == ("Custom", "my-720p", "for the web")
    assert first.template == transcode()


def test_a_deleted_definition_is_not_handed_out_again(templates: Templates, alice: Account) -> None:
    first = templates.create(alice.id, T.TRANSCODE, transcode())
    templates.delete(alice.id, T.TRANSCODE, first.definition)
    again = templates.create(alice.id, T.TRANSCODE, transcode())
    assert again.definition > first.definition


def test_get_reads_presets_and_own_templates(templates: Templates, alice: Account) -> None:
    preset = templates.get(alice.id, T.TRANSCODE, 100010)
    assert preset.type == "Preset" and preset.definition == 100010
    assert preset.created_at == PRESETS_CREATED
    mine = templates.create(alice.id, T.TRANSCODE, transcode())
    assert templates.get(alice.id, T.TRANSCODE, mine.definition) == mine


def test_unknown_or_wrong_kind_is_template_not_found(templates: Templates, alice: Account) -> None:
    mine = templates.create(alice.id, T.TRANSCODE, transcode())
    for kind, definition in ((T.TRANSCODE, 999), (T.SNAPSHOT, mine.definition)):
        with pytest.raises(TemplateNotFound) as info:
            templates.get(alice.id, kind, definition)
        assert info.value.code == "ResourceNotFound.TemplateNotExist"
        assert str(definition) in info.value.message


def test_list_puts_presets_first_then_custom(templates: Templates, alice: Account) -> None:
    presets = [p.definition for p in list_presets(T.TRANSCODE)]
    mine = [
        templates.create(alice.id, T.TRANSCODE, transcode(f"t{i}")).definition for i in range(3)
    ]
    records, total = templates.list(alice.id, T.TRANSCODE, limit=100)
    assert total == len(presets) + 3
    assert [r.definition for r in records] == presets + mine
    assert {r.type for r in records[: len(presets)]} == {"Preset"}
    # A page that straddles the presets and the custom templates.
    page, _ = templates.list(alice.id, T.TRANSCODE, offset=len(presets) - 1, limit=2)
    assert [r.definition for r in page] == [presets[-1], mine[0]]
    page, _ = templates.list(alice.id, T.TRANSCODE, offset=len(presets) + 1, limit=5)
    assert [r.definition for r in page] == mine[1:]


def test_list_filters(templates: Templates, alice: Account) -> None:
    mine = templates.create(alice.id, T.TRANSCODE, transcode("keep"))
    templates.create(alice.id, T.TRANSCODE, transcode("other"))
    templates.create(alice.id, T.SNAPSHOT, SnapshotTemplate(name="keep"))
    custom, total = templates.list(alice.id, T.TRANSCODE, type="Custom")
    assert total == 2 and {r.type for r in custom} == {"Custom"}
    only, total = templates.list(alice.id, T.TRANSCODE, definitions=[100010, mine.definition])
    assert total == 2 and [r.definition for r in only] == [100010, mine.definition]
    named, total = templates.list(alice.id, type="Custom", name="keep")
    assert total == 2 and {r.kind for r in named} == {T.TRANSCODE, T.SNAPSHOT}
    preset_only, total = templates.list(alice.id, T.SNAPSHOT, type="Preset")
    assert [r.definition for r in preset_only] == [10] and total == 1


def test_list_checks_paging(templates: Templates, alice: Account) -> None:
    for offset, limit, field in ((0, 0, "limit"), (0, 101, "limit"), (-1, 10, "offset")):
        with pytest.raises(SpecError) as info:
            templates.list(alice.id, offset=offset, limit=limit)
        assert info.value.field == field


def test_presets_are_read_only(templates: Templates, alice: Account) -> None:
    with pytest.raises(SpecError) as modify:
        templates.update(alice.id, T.TRANSCODE, 100010, transcode())
    assert modify.value.code == "InvalidParameterValue.ModifyDefaultTemplate"
    assert modify.value.field == "definition"
    with pytest.raises(SpecError) as delete:
        templates.delete(alice.id, T.TRANSCODE, 100010)
    assert delete.value.code == "InvalidParameterValue.DeleteDefaultTemplate"


def test_update_replaces_the_whole_template(
    templates: Templates, alice: Account, clock: FakeClock
) -> None:
    mine = templates.create(alice.id, T.TRANSCODE, transcode())
    clock.advance(60)
    new = transcode("renamed", bitrate=3000)
    updated = templates.update(alice.id, T.TRANSCODE, mine.definition, new)
    assert updated.template == new and updated.name == "renamed"
    assert updated.created_at == mine.created_at and updated.updated_at == clock.now
    assert templates.get(alice.id, T.TRANSCODE, mine.definition).template == new


def test_update_refuses_another_kind_of_template(templates: Templates, alice: Account) -> None:
    mine = templates.create(alice.id, T.TRANSCODE, transcode())
    with pytest.raises(SpecError) as info:
        templates.update(alice.id, T.TRANSCODE, mine.definition, SnapshotTemplate())
    assert info.value.field == "kind"
    with pytest.raises(SpecError):
        templates.create(alice.id, T.SNAPSHOT, transcode())


def test_a_watermark_keeps_its_type(templates: Templates, alice: Account) -> None:
    mark = templates.create(alice.id, T.WATERMARK, text_mark())
    image = WatermarkTemplate.model_validate(
        {"type": "image", "image_template": {"image_content": TINY_PNG_B64}}
    )
    with pytest.raises(SpecError) as info:
        templates.update(alice.id, T.WATERMARK, mark.definition, image)
    assert info.value.field == "type"


def test_quota_per_account_and_kind(templates: Templates, alice: Account, bob: Account) -> None:
    for i in range(16):
        templates.create(alice.id, T.SNAPSHOT, SnapshotTemplate(name=f"s{i}"))
    with pytest.raises(LimitExceeded) as info:
        templates.create(alice.id, T.SNAPSHOT, SnapshotTemplate())
    assert info.value.code == "LimitExceeded.TooMuchTemplate"
    assert "16" in info.value.message
    templates.create(bob.id, T.SNAPSHOT, SnapshotTemplate())  # another account's quota
    templates.create(alice.id, T.TRANSCODE, transcode())  # another kind's quota


def test_a_template_used_by_a_workflow_cannot_be_deleted(
    templates: Templates, workflows: Workflows, alice: Account
) -> None:
    mine = templates.create(alice.id, T.TRANSCODE, transcode())
    mark = templates.create(alice.id, T.WATERMARK, text_mark())
    task = TranscodeTaskInput(
        definition=mine.definition, watermark_set=[WatermarkInput(definition=mark.definition)]
    )
    flow = workflows.create(
        alice.id,
        WorkflowSpec(
            name="web",
            trigger=WorkflowTrigger(bucket="in"),
            media_process_task=MediaProcessTask(transcode_task_set=[task]),
        ),
    )
    for kind, definition in ((T.TRANSCODE, mine.definition), (T.WATERMARK, mark.definition)):
        with pytest.raises(TemplateInUse) as info:
            templates.delete(alice.id, kind, definition)
        assert info.value.code == "FailedOperation.TemplateInUse"
        assert f"workflow {flow.id} ('web')" in info.value.message
    workflows.delete(alice.id, flow.id)
    templates.delete(alice.id, T.TRANSCODE, mine.definition)
    with pytest.raises(TemplateNotFound):
        templates.get(alice.id, T.TRANSCODE, mine.definition)


def test_lookup_is_presets_plus_own_templates(
    templates: Templates, alice: Account, bob: Account
) -> None:
    mine = templates.create(alice.id, T.TRANSCODE, transcode())
    lookup = templates.lookup(alice.id)
    assert lookup.get(T.TRANSCODE, mine.definition) == transcode()
    assert lookup.get(T.TRANSCODE, 100010) is not None
    assert lookup.get(T.SNAPSHOT, mine.definition) is None
    assert templates.lookup(bob.id).get(T.TRANSCODE, mine.definition) is None
    assert templates.lookup(None).get(T.TRANSCODE, mine.definition) is None
