"""A task drawn in the seed's notation, laid out for an inline SVG.

A circle is the start and the end, a diamond the fork into parallel sub-tasks, a rounded
rectangle each sub-task (coloured by its state, with its progress bar), a dot the join.
Two layouts of the same drawing:

    wide (laptops)                          tall (phones)

                    [sub-task 0]            (start)
    (start) -> <fork> [sub-task 1] -> * -> (end)   <fork>
                    [sub-task 2]              |-[sub-task 0]-|
                                              |-[sub-task 1]-|
                                                             * join
                                                            (end)

This module computes the geometry only; ``templates/_diagram.html`` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.console.formatting import kind_label
from reelflow.engine.views import SubTaskView, TaskView
from reelflow.specs.states import SubTaskState, TaskState

BOX_HEIGHT = 50
ROW = 64  # vertical distance between sub-task boxes
RADIUS = 17
FORK_HALF = 16
JOIN_RADIUS = 7
BAR_INSET = 14


@dataclass(frozen=True)
class Mark:
    """A start, fork, join or end shape at (x, y), with its label's position."""

    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str  # SVG text-anchor of the label


@dataclass(frozen=True)
class Box:
    index: int
    state: SubTaskState
    kind: str
    title: str
    subtitle: str
    progress: float  # 0..100
    x: float
    y: float
    width: float
    height: float
    max_title: int  # characters that fit

    @property
    def bar_track(self) -> float:
        return self.width - 2 * BAR_INSET

    @property
    def bar_width(self) -> float:
        return round(self.bar_track * self.progress / 100, 1)


@dataclass(frozen=True)
class Edge:
    d: str  # SVG path data
    done: bool  # drawn in the success colour


@dataclass(frozen=True)
class Diagram:
    variant: str  # "wide" or "tall"
    width: float
    height: float
    task_state: TaskState
    start: Mark
    fork: Mark
    join: Mark
    end: Mark
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    radius: float = RADIUS
    join_radius: float = JOIN_RADIUS

    @property
    def fork_points(self) -> str:
        x, y, h = self.fork.x, self.fork.y, FORK_HALF
        return f"{x},{y - h} {x + h},{y} {x},{y + h} {x - h},{y}"

    @property
    def final(self) -> str:
        """The task's end state ("" while it runs)."""
        return self.task_state.value if self.task_state.is_terminal else ""


def _subtitle(sub: SubTaskView) -> str:
    if sub.state is SubTaskState.RUNNING:
        return f"running · {sub.progress:.0f}%"
    if sub.state is SubTaskState.FAILED:
        return f"failed · {sub.err_code}" if sub.err_code else "failed"
    return sub.state.value


def _title(sub: SubTaskView) -> str:
    name = str(sub.spec.template.get("name") or "")
    label = kind_label(sub.kind)
    return f"{label} · {name}" if name else f"{label} #{sub.index}"


def _progress(sub: SubTaskView) -> float:
    if sub.state is SubTaskState.SUCCEEDED:
        return 100.0
    return max(0.0, min(100.0, sub.progress))


def _boxes(task: TaskView, x: float, top: float, width: float, max_title: int) -> list[Box]:
    return [
        Box(
            index=sub.index,
            state=sub.state,
            kind=sub.kind.value,
            title=_title(sub),
            subtitle=_subtitle(sub),
            progress=_progress(sub),
            x=x,
            y=top + row * ROW,
            width=width,
            height=BOX_HEIGHT,
            max_title=max_title,
        )
        for row, sub in enumerate(sorted(task.subtasks, key=lambda s: s.index))
    ]


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    """A horizontal S-curve from (x1, y1) to (x2, y2)."""
    mid = (x1 + x2) / 2
    return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"


def _line(*points: tuple[float, float]) -> str:
    first, *rest = points
    return f"M{first[0]},{first[1]} " + " ".join(f"L{x},{y}" for x, y in rest)


def wide(task: TaskView) -> Diagram:
    """Left to right, as the seed draws it."""
    pad, start_x, fork_x, box_x, box_w, join_x, end_x = 22, 40, 128, 214, 440, 744, 846
    rows = max(1, len(task.subtasks))
    height = rows * ROW + 2 * pad - (ROW - BOX_HEIGHT)
    cy = height / 2
    boxes = _boxes(task, box_x, pad, box_w, 48)
    began = task.state is not TaskState.QUEUED
    edges = [Edge(_line((start_x + RADIUS, cy), (fork_x - FORK_HALF, cy)), began)]
    for box in boxes:
        mid = box.y + box.height / 2
        ok = box.state is SubTaskState.SUCCEEDED
        edges.append(Edge(_curve(fork_x + FORK_HALF, cy, box_x, mid), ok))
        edges.append(Edge(_curve(box_x + box_w, mid, join_x - JOIN_RADIUS, cy), ok))
    ended = task.state.is_terminal
    edges.append(Edge(_line((join_x + JOIN_RADIUS, cy), (end_x - RADIUS, cy)), ended))
    return Diagram(
        variant="wide",
        width=900,
        height=height,
        task_state=task.state,
        start=Mark(start_x, cy, start_x, cy + RADIUS + 14, "middle"),
        fork=Mark(fork_x, cy, fork_x, cy + FORK_HALF + 14, "middle"),
        join=Mark(join_x, cy, join_x, cy + JOIN_RADIUS + 16, "middle"),
        end=Mark(end_x, cy, end_x, cy + RADIUS + 14, "middle"),
        boxes=tuple(boxes),
        edges=tuple(edges),
    )


def tall(task: TaskView) -> Diagram:
    """Top to bottom for narrow screens: a rail from the fork down the left side to each
    sub-task, another down the right side from each sub-task to the join."""
    left, right, box_x, box_w = 24, 336, 46, 268
    start_y, fork_y, top = 22, 70, 104
    boxes = _boxes(task, box_x, top, box_w, 30)
    mids = [box.y + box.height / 2 for box in boxes] or [top + BOX_HEIGHT / 2]
    join_y = mids[-1] + 46
    end_y = join_y + 44
    began = task.state is not TaskState.QUEUED
    edges = [
        Edge(_line((left, start_y + RADIUS), (left, fork_y - FORK_HALF)), began),
        Edge(_line((left, fork_y + FORK_HALF), (left, mids[-1])), began),
        Edge(_line((right, mids[0]), (right, join_y - JOIN_RADIUS)), task.state.is_terminal),
    ]
    for box, mid in zip(boxes, mids, strict=False):
        ok = box.state is SubTaskState.SUCCEEDED
        edges.append(Edge(_line((left, mid), (box_x, mid)), ok))
        edges.append(Edge(_line((box_x + box_w, mid), (right, mid)), ok))
    ended = task.state.is_terminal
    edges.append(Edge(_line((right, join_y + JOIN_RADIUS), (right, end_y - RADIUS)), ended))
    return Diagram(
        variant="tall",
        width=360,
        height=end_y + RADIUS + 6,
        task_state=task.state,
        start=Mark(left, start_y, left + RADIUS + 8, start_y + 4, "start"),
        fork=Mark(left, fork_y, left + FORK_HALF + 8, fork_y + 4, "start"),
        join=Mark(right, join_y, right - JOIN_RADIUS - 8, join_y + 4, "end"),
        end=Mark(right, end_y, right - RADIUS - 8, end_y + 4, "end"),
        boxes=tuple(boxes),
        edges=tuple(edges),
    )
