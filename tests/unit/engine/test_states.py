from __future__ import annotations

import pytest

from reelflow.engine.transitions import (
    JOB_TRANSITIONS,
    SUBTASK_TRANSITIONS,
    TASK_TRANSITIONS,
    Machine,
    check_transition,
)
from reelflow.errors import StateError
from reelflow.specs.states import JobState, SubTaskState, TaskState


def test_every_state_has_a_row_and_final_states_only_leave_for_a_retry() -> None:
    assert set(TASK_TRANSITIONS) == set(TaskState)
    assert set(SUBTASK_TRANSITIONS) == set(SubTaskState)
    assert set(JOB_TRANSITIONS) == set(JobState)
    assert {s: TASK_TRANSITIONS[s] for s in TaskState if s.is_terminal} == {
        TaskState.SUCCEEDED: frozenset(),
        TaskState.FAILED: frozenset({TaskState.QUEUED}),
        TaskState.CANCELLED: frozenset(),
    }
    assert all(not JOB_TRANSITIONS[s] for s in JobState if s.is_terminal)
    assert SUBTASK_TRANSITIONS[SubTaskState.SUCCEEDED] == frozenset()


@pytest.mark.parametrize(
    ("machine", "old", "new"),
    [
        (Machine.TASK, TaskState.QUEUED, TaskState.RUNNING),
        (Machine.TASK, TaskState.RUNNING, TaskState.SUCCEEDED),
        (Machine.TASK, TaskState.FAILED, TaskState.QUEUED),
        (Machine.SUBTASK, SubTaskState.RUNNING, SubTaskState.PENDING),
        (Machine.JOB, JobState.RUNNING, JobState.QUEUED),
    ],
)
def test_allowed_moves_pass(machine: Machine, old: TaskState, new: TaskState) -> None:
    check_transition(machine, old, new)


@pytest.mark.parametrize(
    ("machine", "old", "new"),
    [
        (Machine.TASK, TaskState.SUCCEEDED, TaskState.RUNNING),
        (Machine.TASK, TaskState.QUEUED, TaskState.SUCCEEDED),
        (Machine.TASK, TaskState.RUNNING, TaskState.RUNNING),
        (Machine.SUBTASK, SubTaskState.SUCCEEDED, SubTaskState.FAILED),
        (Machine.JOB, JobState.QUEUED, JobState.SUCCEEDED),
        (Machine.JOB, JobState.FAILED, JobState.QUEUED),
    ],
)
def test_illegal_moves_raise_state_error(machine: Machine, old: TaskState, new: TaskState) -> None:
    with pytest.raises(StateError, match=f"cannot go from {old} to {new}") as info:
        check_transition(machine, old, new, subject="the thing")
    assert info.value.code == "FailedOperation.State"
    assert str(info.value).startswith("the thing ")


def test_states_of_another_machine_are_refused() -> None:
    with pytest.raises(StateError, match="TaskState"):
        check_transition(Machine.TASK, JobState.QUEUED, JobState.RUNNING)


def test_compatible_api_status() -> None:
    assert [s.api_status for s in TaskState] == [
        "WAITING",
        "PROCESSING",
        "FINISH",
        "FINISH",
        "FINISH",
    ]
    assert {s: s.api_status for s in SubTaskState} == {
        SubTaskState.PENDING: "PROCESSING",
        SubTaskState.RUNNING: "PROCESSING",
        SubTaskState.SUCCEEDED: "SUCCESS",
        SubTaskState.FAILED: "FAIL",
        SubTaskState.CANCELLED: "FAIL",
    }
    assert [s.value for s in TaskState] == [
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
    ]
