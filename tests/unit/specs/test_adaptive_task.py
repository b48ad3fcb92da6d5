"""The adaptive-streaming sub-task: its request field, template kind and place in the graph."""

from __future__ import annotations

from typing import Any

import pytest

from reelflow.catalog.templates import QUOTAS
from reelflow.errors import SpecError
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup
from reelflow.specs.ladders import LadderFormat, LadderTemplate
from reelflow.specs.requests import TaskRequest
from reelflow.specs.subtasks import SubTaskKind
from reelflow.specs.tasks import AdaptiveDynamicStreamingTaskInput
from reelflow.specs.template_kinds import TEMPLATE_MODELS
from reelflow.specs.templates import TemplateKind
from reelflow.specs.workflows import TASK_SETS, template_references


def request(**sets: list[dict[str, Any]]) -> TaskRequest:
    return TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "media", "key": "in/a.mp4"},
            "media_process_task": sets,
        }
    )


AUDIO_LADDER = LadderTemplate.model_validate(
    {
        "format": "HLS",
        "pure_audio": True,
        "stream_infos": [
            {"remove_video": True, "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 44100}}
        ],
    }
)


def test_the_kind_is_named_as_the_compatible_results_name_it() -> None:
    assert TemplateKind.ADAPTIVE.value == "AdaptiveDynamicStreaming"
    assert SubTaskKind.ADAPTIVE.value == "AdaptiveDynamicStreaming"
    assert TEMPLATE_MODELS[TemplateKind.ADAPTIVE] is LadderTemplate
    assert TemplateKind.ADAPTIVE in QUOTAS


def test_the_task_field_in_both_spellings() -> None:
    snake = request(
        adaptive_dynamic_streaming_task_set=[
            {"definition": 10, "segment_object_name": "seg_{subStreamNumber}_{segmentNumber}"}
        ]
    )
    pascal = TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "media", "key": "in/a.mp4"},
            "media_process_task": {"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}]},
        }
    )
    [item] = snake.media_process_task.adaptive_dynamic_streaming_task_set
    assert item.segment_object_name == "seg_{subStreamNumber}_{segmentNumber}"
    assert snake.media_process_task.count() == 1
    assert pascal.media_process_task.adaptive_dynamic_streaming_task_set == [
        AdaptiveDynamicStreamingTaskInput(definition=10)
    ]


def test_a_preset_ladder_resolves_to_a_sub_task() -> None:
    [spec] = resolve_request(
        request(adaptive_dynamic_streaming_task_set=[{"definition": 20}]), PresetLookup()
    )
    assert (spec.kind, spec.definition) == (SubTaskKind.ADAPTIVE, 20)
    template = spec.parsed_template()
    assert isinstance(template, LadderTemplate)
    assert template.format is LadderFormat.DASH
    assert isinstance(spec.parsed_input(), AdaptiveDynamicStreamingTaskInput)


def test_an_unknown_ladder_names_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        resolve_request(
            request(adaptive_dynamic_streaming_task_set=[{"definition": 11}]), PresetLookup()
        )
    assert caught.value.code == "ResourceNotFound.TemplateNotExist"
    assert (
        caught.value.field == "media_process_task.adaptive_dynamic_streaming_task_set[0].definition"
    )


def test_a_ladder_reads_a_transcode_and_nobody_reads_a_ladder() -> None:
    specs = resolve_request(
        request(
            transcode_task_set=[{"definition": 100030, "id": "wm"}],
            adaptive_dynamic_streaming_task_set=[{"definition": 10, "input": "wm", "id": "abr"}],
        ),
        PresetLookup(),
    )
    assert (specs[1].upstream, specs[1].upstream_id) == (0, "wm")

    with pytest.raises(SpecError, match="only a Transcode sub-task's output can be read"):
        resolve_request(
            request(
                adaptive_dynamic_streaming_task_set=[{"definition": 10, "id": "abr"}],
                snapshot_by_time_offset_task_set=[
                    {"definition": 10, "ext_time_offset_set": ["1s"], "input": "abr"}
                ],
            ),
            PresetLookup(),
        )


def test_only_a_pure_audio_ladder_may_read_an_audio_only_rendition() -> None:
    custom = MemoryLookup()
    custom.add(TemplateKind.ADAPTIVE, 1_000_001, AUDIO_LADDER)
    lookup = ChainLookup(PresetLookup(), custom)
    specs = resolve_request(
        request(
            transcode_task_set=[{"definition": 1110, "id": "aac"}],
            adaptive_dynamic_streaming_task_set=[{"definition": 1_000_001, "input": "aac"}],
        ),
        lookup,
    )
    assert specs[1].upstream == 0

    with pytest.raises(SpecError, match="audio-only output"):
        resolve_request(
            request(
                transcode_task_set=[{"definition": 1110, "id": "aac"}],
                adaptive_dynamic_streaming_task_set=[{"definition": 10, "input": "aac"}],
            ),
            lookup,
        )


def test_workflows_reference_the_ladder_template() -> None:
    assert ("adaptive_dynamic_streaming_task_set", SubTaskKind.ADAPTIVE, TemplateKind.ADAPTIVE) in (
        TASK_SETS
    )
    mpt = request(adaptive_dynamic_streaming_task_set=[{"definition": 10}]).media_process_task
    assert (TemplateKind.ADAPTIVE, 10) in template_references(mpt)
