"""The task diagram's geometry: a task without edges as one fork and one join, a chained
task's stages left to right (wide) or indented under their upstream (tall)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from reelflow.console.diagram import CHAIN_GAP, INDENT, tall, wide
from reelflow.engine.views import ChunkMark, SubTaskView, TaskView
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import JobState, SubTaskState, TaskState
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec

NOW = datetime(2024, 1, 1, tzinfo=UTC)
TRANSCODE, SNAPSHOT = SubTaskKind.TRANSCODE, SubTaskKind.SNAPSHOT


def sub(index: int, kind: SubTaskKind, upstream: int | None = None) -> SubTaskView:
    spec = SubTaskSpec.model_construct(
        index=index,
        kind=kind,
        definition=10,
        input={},
        template={"name": f"t{index}"},
        watermarks=[],
        output_bucket="media",
        output_dir="out/",
        node_id=None,
        upstream=upstream,
        upstream_id=None if upstream is None else f"n{upstream}",
    )
    return SubTaskView(
        index=index,
        kind=kind,
        state=SubTaskState.SUCCEEDED,
        progress=100.0,
        err_code="",
        message="",
        output=None,
        spec=spec,
        attempts=1,
        started_at=None,
        finished_at=None,
    )


def task(*subs: SubTaskView) -> TaskView:
    return TaskView(
        id="rf-test",
        state=TaskState.SUCCEEDED,
        priority=0,
        workflow_id=None,
        session_id="",
        session_context="",
        request=TaskRequest.model_construct(),
        source=TaskSource.model_construct(),
        media_info=None,
        err_code="",
        message="",
        created_at=NOW,
        started_at=NOW,
        finished_at=NOW,
        updated_at=NOW,
        subtasks=subs,
    )


def test_a_task_without_edges_is_one_fork_and_one_join() -> None:
    d = wide(task(sub(0, TRANSCODE), sub(1, SNAPSHOT)))
    assert (d.width, d.columns, d.summary) == (
        900,
        1,
        "Task diagram: start, fork into 2 sub-tasks, join, end",
    )
    assert [(b.x, b.y, b.width, b.max_title) for b in d.boxes] == [
        (214, 22, 440, 48),
        (214, 86, 440, 48),
    ]
    assert not any(edge.chain for edge in d.edges)
    assert len(d.edges) == 2 + 2 * 2  # start->fork, fork->box->join twice, join->end
    t = tall(task(sub(0, TRANSCODE), sub(1, SNAPSHOT)))
    assert [(b.x, b.y, b.width, b.max_title) for b in t.boxes] == [
        (46, 104, 268, 30),
        (46, 168, 268, 30),
    ]
    assert not any(edge.chain for edge in t.edges)


def test_wide_a_chain_reads_left_to_right_with_an_arrow() -> None:
    # 0 -> 1, and 2 reads the source: two rows, two stages.
    d = wide(task(sub(0, TRANSCODE), sub(1, SNAPSHOT, upstream=0), sub(2, SNAPSHOT)))
    first, second, other = d.boxes
    assert d.columns == 2 and "in 2 stages" in d.summary
    assert second.upstream == 0 and first.upstream is None
    assert second.y == first.y  # the same row
    assert second.x == first.x + first.width + CHAIN_GAP  # to its right
    assert other.x == first.x and other.y > first.y
    assert first.width == other.width == second.width
    chains = [edge for edge in d.edges if edge.chain]
    assert len(chains) == 1 and chains[0].done
    mid = first.y + first.height / 2
    path = chains[0].d
    assert path.startswith(f"M{first.x + first.width},{mid} ")
    assert path.endswith(f" {second.x},{mid}")
    # The fork leads to the sources' readers only, the join collects the last stages only.
    fork_x = d.fork.x + 16
    assert sum(e.d.startswith(f"M{fork_x},") for e in d.edges) == 2
    join_x = d.join.x - d.join_radius
    ends = [e.d for e in d.edges if e.d.endswith(f" {join_x},{d.join.y}")]
    assert len(ends) == 2
    assert not any(e.startswith(f"M{first.x + first.width},{mid} ") for e in ends)


def test_wide_a_long_chain_widens_the_drawing_and_branches_take_rows() -> None:
    # 0 -> 1 -> 2 -> 3, and 1 -> 4 (a second dependent of 1, on a row of its own)
    d = wide(
        task(
            sub(0, TRANSCODE),
            sub(1, TRANSCODE, upstream=0),
            sub(2, TRANSCODE, upstream=1),
            sub(3, SNAPSHOT, upstream=2),
            sub(4, SNAPSHOT, upstream=1),
        )
    )
    boxes = {box.index: box for box in d.boxes}
    assert d.columns == 4
    assert d.width > 900 and all(box.width >= 180 for box in d.boxes)
    assert [boxes[i].y for i in (0, 1, 2, 3)] == [22] * 4
    assert [boxes[i].x for i in (0, 1, 2, 3)] == sorted({boxes[i].x for i in (0, 1, 2, 3)})
    assert boxes[4].x == boxes[2].x and boxes[4].y == 22 + 64
    assert max(box.x + box.width for box in d.boxes) < d.join.x
    assert sum(edge.chain for edge in d.edges) == 4


def test_tall_a_chain_is_indented_under_its_upstream() -> None:
    t = tall(task(sub(0, TRANSCODE), sub(1, SNAPSHOT), sub(2, SNAPSHOT, upstream=0)))
    boxes = {box.index: box for box in t.boxes}
    assert [box.index for box in t.boxes] == [0, 1, 2]  # drawn (and read) in index order
    assert boxes[2].y == boxes[0].y + 64  # right under its upstream
    assert boxes[1].y == boxes[2].y + 64
    assert boxes[2].x == boxes[0].x + INDENT
    assert boxes[2].x + boxes[2].width == boxes[0].x + boxes[0].width  # same right edge
    (chain,) = [edge for edge in t.edges if edge.chain]
    x = boxes[0].x + INDENT / 2
    mid = boxes[2].y + boxes[2].height / 2
    assert chain.d == f"M{x},{boxes[0].y + boxes[0].height} L{x},{mid} L{boxes[2].x},{mid}"
    # box 0 has a dependent: it does not lead to the join's rail
    top_mid = boxes[0].y + boxes[0].height / 2
    assert not any(e.d.startswith(f"M{boxes[0].x + boxes[0].width},{top_mid} ") for e in t.edges)


def test_a_chunked_output_draws_its_chunks_along_its_bar() -> None:
    running = dataclasses.replace(sub(0, TRANSCODE), state=SubTaskState.RUNNING, progress=40.0)
    marks = (
        ChunkMark(0, 0.25, JobState.SUCCEEDED, 100.0),
        ChunkMark(1, 0.25, JobState.RUNNING, 50.0),
        ChunkMark(2, 0.5, JobState.QUEUED, 0.0),
    )
    [box] = wide(task(running), {0: marks}).boxes
    assert box.subtitle == "running · 40% · chunks 1/3"
    track = box.bar_track  # 412 px: 103, 103, 206 minus a 2 px gap each
    assert [(s.width, s.fill, s.state) for s in box.segments] == [
        (track / 4 - 2, track / 4 - 2, "succeeded"),
        (track / 4 - 2, (track / 4 - 2) / 2, "running"),
        (track / 2 - 2, 0.0, "queued"),
    ]
    assert box.segments[0].x == box.x + 14 and box.segments[1].x == box.x + 14 + track / 4
    # Too many to tell apart (thinner than 6 px): the plain bar, the subtitle counts them.
    many = tuple(ChunkMark(i, 1 / 120, JobState.QUEUED, 0.0) for i in range(120))
    [box] = wide(task(running), {0: many}).boxes
    assert box.segments == () and box.subtitle.endswith("chunks 0/120")
    # A finished output is drawn plain.
    [box] = wide(task(sub(0, TRANSCODE)), {0: marks}).boxes
    assert box.segments == ()
