"""``Activities`` -> schedule steps and the task graph: who reads whose output, and the
graphs refused with the activity named."""

from __future__ import annotations

import pytest

from reelflow.compat.activities import Activity, layout, node_id
from reelflow.errors import SpecError
from reelflow.specs.schedules import StepRole
from reelflow.specs.subtasks import SubTaskKind


def test_actions_read_their_precursor() -> None:
    plan = layout(
        [
            Activity("input", (1, 3)),
            Activity("action-trans", (2,)),
            Activity("action-snapshotByTimeOffset", (4,)),
            Activity("action-image-sprite", (4,)),
            Activity("output"),
        ]
    )
    assert [s.role for s in plan.steps] == [
        StepRole.INPUT,
        StepRole.ACTION,
        StepRole.ACTION,
        StepRole.ACTION,
        StepRole.OUTPUT,
    ]
    assert [s.node for s in plan.steps] == [None, "activity-1", "activity-2", "activity-3", None]
    assert plan.kinds == {
        1: SubTaskKind.TRANSCODE,
        2: SubTaskKind.SNAPSHOT,
        3: SubTaskKind.IMAGE_SPRITE,
    }
    assert plan.reads == {1: None, 2: node_id(1), 3: None}
    assert plan.steps[0].next == [1, 3]


def test_the_vendors_example_fans_out_and_joins_at_the_output() -> None:
    # The shape of the vendor's CreateSchedule example: chains of transcodes, all ending
    # in one output.
    trans = "action-trans"
    activities = [
        Activity("input", (1, 2)),
        Activity(trans, (3,)),
        Activity(trans, (6, 7)),
        Activity(trans, (4, 5)),
        Activity(trans, (10,)),
        Activity(trans, (10,)),
        Activity(trans, (10,)),
        Activity(trans, (8,)),
        Activity(trans, (9,)),
        Activity(trans, (10,)),
        Activity("output"),
    ]
    plan = layout(activities)
    assert plan.reads[1] is None
    assert plan.reads[4] == node_id(3)
    assert plan.reads[9] == node_id(8)


@pytest.mark.parametrize(
    ("activities", "code", "where"),
    [
        ([Activity("action-trans")], "InvalidParameterValue.Activities", "Activities"),
        (
            [Activity("input", (1,)), Activity("input")],
            "InvalidParameterValue.ActivityType",
            "Activities.1.ActivityType",
        ),
        (
            [Activity("input", (1,)), Activity("action-trans", (0,))],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1.ReardriveIndex.0",
        ),
        (
            [Activity("input", (1,)), Activity("action-trans", (1,))],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1.ReardriveIndex.0",
        ),
        (
            [Activity("input", (1,)), Activity("output", (0,)), Activity("action-trans")],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1.ReardriveIndex.0",
        ),
        (
            [
                Activity("input", (1,)),
                Activity("action-image-sprite", (2,)),
                Activity("action-trans"),
            ],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1.ReardriveIndex",
        ),
        (
            [
                Activity("input", (3,)),
                Activity("action-trans", (2,)),
                Activity("action-trans", (1,)),
                Activity("action-trans"),
            ],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1.ReardriveIndex",  # 1 -> 2 -> 1
        ),
        (
            [
                Activity("input", (1,)),
                Activity("action-adaptive-substream", (2,)),
                Activity("action-snapshotByTimeOffset"),
            ],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1.ReardriveIndex",  # a ladder's output is not processed further
        ),
        (
            [Activity("input", (1,)), Activity("action-exec-rules")],
            "UnsupportedOperation",
            "Activities.1.ActivityType",
        ),
    ],
)
def test_refused(activities: list[Activity], code: str, where: str) -> None:
    with pytest.raises(SpecError) as caught:
        layout(activities)
    assert caught.value.code == code
    assert caught.value.message.startswith(where)
