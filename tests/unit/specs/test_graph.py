"""The task graph at the door: ids, inputs, kinds, cycles and the node limit."""

from __future__ import annotations

from typing import Any

import pytest

from reelflow.errors import SpecError
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import PresetLookup
from reelflow.specs.graph import Node, dependents, link
from reelflow.specs.requests import TaskRequest
from reelflow.specs.subtasks import SubTaskKind

WM = {"definition": 100030, "id": "wm720"}


def request(**sets: list[dict[str, Any]]) -> TaskRequest:
    return TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "media", "key": "in/a.mp4"},
            "media_process_task": sets,
        }
    )


def resolve(**sets: list[dict[str, Any]]) -> Any:
    return resolve_request(request(**sets), PresetLookup())


def refused(**sets: list[dict[str, Any]]) -> SpecError:
    with pytest.raises(SpecError) as caught:
        resolve(**sets)
    return caught.value


def test_a_chain_records_each_nodes_id_and_upstream() -> None:
    specs = resolve(
        transcode_task_set=[WM, {"definition": 100010}],
        snapshot_by_time_offset_task_set=[
            {"definition": 10, "ext_time_offset_set": ["50%"], "input": "wm720"}
        ],
    )
    assert [(s.index, s.node_id, s.upstream, s.upstream_id) for s in specs] == [
        (0, "wm720", None, None),
        (1, None, None, None),
        (2, None, 0, "wm720"),
    ]
    # The graph members are the spec's, not the echoed input's (the compatible API's shape).
    assert "id" not in specs[0].input and "input" not in specs[2].input
    assert specs[2].parsed_input().to_mps().keys().isdisjoint({"Id", "Input"})


def test_sub_tasks_without_edges_resolve_as_before() -> None:
    [spec] = resolve(transcode_task_set=[{"definition": 100010}])
    assert spec.to_json().keys().isdisjoint({"node_id", "upstream", "upstream_id"})
    assert "Id" not in spec.parsed_input().to_mps()


def test_an_unknown_input_names_the_node_and_the_edge() -> None:
    exc = refused(
        transcode_task_set=[{"definition": 100010}],
        snapshot_by_time_offset_task_set=[
            {"definition": 10, "ext_time_offset_set": ["1s"], "input": "wm720"}
        ],
    )
    assert exc.code == "InvalidParameterValue.Input"
    assert exc.message == (
        "media_process_task.snapshot_by_time_offset_task_set[0].input: 'wm720' is not the id "
        "of a sub-task of this task"
    )
    assert exc.field == "media_process_task.snapshot_by_time_offset_task_set[0].input"


def test_a_duplicate_id_is_refused() -> None:
    exc = refused(transcode_task_set=[WM, WM])
    assert exc.code == "InvalidParameterValue.Id"
    assert "transcode_task_set[1].id: 'wm720' is already the id of" in exc.message


@pytest.mark.parametrize(
    "transcodes",
    [
        [{"definition": 100010, "id": "a", "input": "a"}],
        [
            {"definition": 100010, "id": "a", "input": "b"},
            {"definition": 100020, "id": "b", "input": "a"},
        ],
        [
            {"definition": 100010, "id": "a", "input": "c"},
            {"definition": 100020, "id": "b", "input": "a"},
            {"definition": 100030, "id": "c", "input": "b"},
        ],
    ],
)
def test_cycles_are_refused(transcodes: list[dict[str, Any]]) -> None:
    exc = refused(transcode_task_set=transcodes)
    assert exc.code == "InvalidParameterValue.Input"
    assert "cycle" in exc.message or "its own output" in exc.message


@pytest.mark.parametrize(
    ("sets", "words"),
    [
        (  # a snapshot cannot be read
            {
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["1s"], "id": "s"}
                ],
                "image_sprite_task_set": [{"definition": 10, "input": "s"}],
            },
            "only a Transcode sub-task's output can be read",
        ),
        (  # a GIF cannot read an audio-only rendition
            {
                "transcode_task_set": [{"definition": 1010, "id": "aac"}],
                "animated_graphic_task_set": [{"definition": 20000, "input": "aac"}],
            },
            "audio-only output, and this AnimatedGraphics sub-task needs video",
        ),
        (  # an HLS playlist cannot be read
            {
                "transcode_task_set": [
                    {
                        "definition": 0,
                        "id": "hls",
                        "raw_parameter": {
                            "container": "hls",
                            "video_template": {"codec": "libx264", "fps": 25, "bitrate": 500},
                            "audio_template": {
                                "codec": "libfdk_aac",
                                "bitrate": 64,
                                "sample_rate": 44100,
                            },
                        },
                    }
                ],
                "sample_snapshot_task_set": [{"definition": 10, "input": "hls"}],
            },
            "HLS playlist",
        ),
    ],
)
def test_an_upstream_must_make_what_the_node_reads(sets: dict[str, Any], words: str) -> None:
    exc = refused(**sets)
    assert exc.code == "InvalidParameterValue.Input"
    assert words in exc.message


def test_an_audio_transcode_may_read_an_audio_only_rendition() -> None:
    specs = resolve(
        transcode_task_set=[{"definition": 1010, "id": "a"}, {"definition": 1010, "input": "a"}]
    )
    assert specs[1].upstream == 0


def test_the_node_limit() -> None:
    nodes = [Node(field=f"t[{i}]", kind=SubTaskKind.TRANSCODE) for i in range(3)]
    assert link(nodes, max_nodes=3) == [None, None, None]
    with pytest.raises(SpecError) as caught:
        link(nodes, max_nodes=2)
    assert caught.value.code == "InvalidParameterValue.TaskNodes"
    assert "3 sub-tasks, at most 2" in caught.value.message


def test_dependents_are_found_down_the_graph() -> None:
    # 0 <- 1 <- 2, 0 <- 3, 4 alone
    assert dependents([None, 0, 1, 0, None], 0) == {1, 2, 3}
    assert dependents([None, 0, 1, 0, None], 1) == {2}
    assert dependents([None, 0, 1, 0, None], 4) == set()
