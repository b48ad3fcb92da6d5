"""A task drawn in the seed's notation, laid out for an inline SVG.

A circle is the start and the end, a diamond the fork into parallel sub-tasks, a rounded
rectangle each sub-task (coloured by its state, with its progress bar), a dot the join.
A sub-task that reads another's output is drawn after it, with an arrow from its upstream:
in the wide layout to the right of it (a chain reads left to right), in the tall one on
the next row, indented under it. The fork leads to the sub-tasks that read the source, the
last stage of each chain leads to the join. Two layouts of the same drawing:

    wide (laptops)                                  tall (phones)

                      [sub-task 0] => [sub-task 2]      (start)
    (start) -> <fork>                    -> * -> (end)  <fork>
                      [sub-task 1]                        |-[sub-task 0]
                                                          |   '=>[sub-task 2]-|
                                                          |-[sub-task 1]------|
                                                                              * join
                                                                            (end)

(``=>``: sub-task 2 reads sub-task 0's output.)

This module computes the geometry only; ``templates/_diagram.html`` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reelflow.console.formatting import kind_label
from reelflow.engine.views import ChunkMark, SubTaskView, TaskView
from reelflow.specs.states import JobState, SubTaskState, TaskState

BOX_HEIGHT = 50
ROW = 64  # vertical distance between sub-task boxes
RADIUS = 17
FORK_HALF = 16
JOIN_RADIUS = 7
BAR_INSET = 14
CHAIN_GAP = 40  # wide: between a sub-task's box and its dependent's, room for the arrow
MIN_BOX_WIDTH = 180  # wide: narrower boxes widen the drawing instead
INDENT = 26  # tall: a dependent's indent under its upstream
MIN_SEGMENT = 6  # narrower chunk segments are collapsed into the plain bar
SEGMENT_GAP = 2


@dataclass(frozen=True)
class Mark:
    """A start, fork, join or end shape at (x, y), with its label's position."""

    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str  # SVG text-anchor of the label


@dataclass(frozen=True)
class Segment:
    """One chunk of a chunked output, drawn as a piece of its box's bar."""

    x: float
    width: float
    fill: float  # the width done
    state: str


@dataclass(frozen=True)
class Box:
    index: int
    upstream: int | None  # the index of the sub-task whose output this one reads
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
    # A chunked output: its chunks forked and joined along the bar, one segment each
    # (empty when it is not chunked, or when there are too many to tell apart).
    segments: tuple[Segment, ...] = ()

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
    chain: bool = False  # from an upstream sub-task to its dependent, with an arrowhead


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
    columns: int = 1  # stages of the longest chain
    radius: float = RADIUS
    join_radius: float = JOIN_RADIUS

    @property
    def fork_points(self) -> str:
        x, y, h = self.fork.x, self.fork.y, FORK_HALF
        return f"{x},{y - h} {x + h},{y} {x},{y + h} {x - h},{y}"

    @property
    def summary(self) -> str:
        """The drawing in words (the SVG's accessible name)."""
        stages = f" in {self.columns} stages" if self.columns > 1 else ""
        return f"Task diagram: start, fork into {len(self.boxes)} sub-tasks{stages}, join, end"

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


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    """A horizontal S-curve from (x1, y1) to (x2, y2)."""
    mid = (x1 + x2) / 2
    return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"


def _line(*points: tuple[float, float]) -> str:
    first, *rest = points
    return f"M{first[0]},{first[1]} " + " ".join(f"L{x},{y}" for x, y in rest)


class _Graph:
    """Which sub-task reads which: upstreams, children, depth (stage) and drawing order."""

    def __init__(self, task: TaskView, chunks: Mapping[int, Sequence[ChunkMark]]) -> None:
        self.chunks = chunks
        self.subs = sorted(task.subtasks, key=lambda s: s.index)
        known = {sub.index for sub in self.subs}
        self.upstream: dict[int, int | None] = {}
        for sub in self.subs:
            up = sub.spec.upstream
            self.upstream[sub.index] = up if up in known and up != sub.index else None
        self._link()
        reached = set(self.preorder())
        for sub in self.subs:  # a cycle (the door never lets one in) is drawn unlinked
            if sub.index not in reached:
                self.upstream[sub.index] = None
        self._link()
        self.depth = {sub.index: self._depth(sub.index) for sub in self.subs}

    def _depth(self, index: int) -> int:
        depth, up = 0, self.upstream[index]
        while up is not None:
            depth, up = depth + 1, self.upstream[up]
        return depth

    def _link(self) -> None:
        self.children: dict[int, list[int]] = {sub.index: [] for sub in self.subs}
        for sub in self.subs:
            up = self.upstream[sub.index]
            if up is not None:
                self.children[up].append(sub.index)

    def roots(self) -> list[int]:
        return [sub.index for sub in self.subs if self.upstream[sub.index] is None]

    def leaf(self, index: int) -> bool:
        return not self.children[index]

    def preorder(self) -> list[int]:
        """Each chain after its upstream, depth first (the tall layout's rows)."""
        order: list[int] = []
        seen: set[int] = set()
        stack = list(reversed(self.roots()))
        while stack:
            index = stack.pop()
            if index in seen:
                continue
            seen.add(index)
            order.append(index)
            stack.extend(reversed(self.children[index]))
        return order

    def rows(self) -> dict[int, int]:
        """The wide layout's rows: a node's first dependent on its own row, the others below."""
        rows: dict[int, int] = {}
        next_row = 0
        for index in self.preorder():
            up = self.upstream[index]
            if up is not None and self.children[up][0] == index and up in rows:
                rows[index] = rows[up]
            else:
                rows[index], next_row = next_row, next_row + 1
        return rows


def _segments(marks: Sequence[ChunkMark], x: float, track: float) -> tuple[Segment, ...]:
    """The chunks along a bar ``track`` wide from ``x``; none when they would be thinner
    than ``MIN_SEGMENT`` (collapsed: the subtitle counts them)."""
    if not marks or track / len(marks) < MIN_SEGMENT:
        return ()
    segments, at = [], x
    for mark in marks:
        width = max(1.0, track * mark.share - SEGMENT_GAP)
        done = 100.0 if mark.state is JobState.SUCCEEDED else mark.progress
        fill = round(width * max(0.0, min(100.0, done)) / 100, 1)
        segments.append(Segment(round(at, 1), round(width, 1), fill, mark.state.value))
        at += track * mark.share
    return tuple(segments)


def _chunk_note(marks: Sequence[ChunkMark]) -> str:
    done = sum(1 for m in marks if m.state is JobState.SUCCEEDED)
    return f" · chunks {done}/{len(marks)}" if marks else ""


def _box(graph: _Graph, sub: SubTaskView, x: float, y: float, width: float, max_title: int) -> Box:
    marks = graph.chunks.get(sub.index, ()) if sub.state is SubTaskState.RUNNING else ()
    return Box(
        index=sub.index,
        upstream=graph.upstream[sub.index],
        state=sub.state,
        kind=sub.kind.value,
        title=_title(sub),
        subtitle=_subtitle(sub) + _chunk_note(marks),
        progress=_progress(sub),
        x=x,
        y=y,
        width=width,
        height=BOX_HEIGHT,
        max_title=max_title,
        segments=_segments(marks, x + BAR_INSET, width - 2 * BAR_INSET),
    )


def _title_fit(width: int, chars: int, full: int) -> int:
    """How many title characters fit a box ``width`` wide, when ``chars`` fit ``full``."""
    return width * chars // full


def wide(task: TaskView, chunks: Mapping[int, Sequence[ChunkMark]] | None = None) -> Diagram:
    """Left to right, as the seed draws it; a chain's stages side by side."""
    pad, start_x, fork_x, box_x = 22, 40, 128, 214
    graph = _Graph(task, chunks or {})
    columns = 1 + max(graph.depth.values(), default=0)
    area = max(440, columns * MIN_BOX_WIDTH + (columns - 1) * CHAIN_GAP)
    box_w = (area - (columns - 1) * CHAIN_GAP) // columns
    join_x = box_x + area + 90
    end_x = join_x + 102
    row_of = graph.rows()
    rows = max(1, 1 + max(row_of.values(), default=0))
    height = rows * ROW + 2 * pad - (ROW - BOX_HEIGHT)
    cy = height / 2
    max_title = _title_fit(box_w, 48, 440)
    boxes = [
        _box(
            graph,
            sub,
            box_x + graph.depth[sub.index] * (box_w + CHAIN_GAP),
            pad + row_of[sub.index] * ROW,
            box_w,
            max_title,
        )
        for sub in graph.subs
    ]
    by_index = {box.index: box for box in boxes}
    began = task.state is not TaskState.QUEUED
    edges = [Edge(_line((start_x + RADIUS, cy), (fork_x - FORK_HALF, cy)), began)]
    for box in boxes:
        mid = box.y + box.height / 2
        ok = box.state is SubTaskState.SUCCEEDED
        if box.upstream is None:
            edges.append(Edge(_curve(fork_x + FORK_HALF, cy, box.x, mid), ok))
        else:
            up = by_index[box.upstream]
            from_x, from_y = up.x + up.width, up.y + up.height / 2
            edges.append(Edge(_curve(from_x, from_y, box.x, mid), ok, chain=True))
        if graph.leaf(box.index):
            edges.append(Edge(_curve(box.x + box.width, mid, join_x - JOIN_RADIUS, cy), ok))
    ended = task.state.is_terminal
    edges.append(Edge(_line((join_x + JOIN_RADIUS, cy), (end_x - RADIUS, cy)), ended))
    return Diagram(
        variant="wide",
        width=end_x + 54,
        height=height,
        task_state=task.state,
        start=Mark(start_x, cy, start_x, cy + RADIUS + 14, "middle"),
        fork=Mark(fork_x, cy, fork_x, cy + FORK_HALF + 14, "middle"),
        join=Mark(join_x, cy, join_x, cy + JOIN_RADIUS + 16, "middle"),
        end=Mark(end_x, cy, end_x, cy + RADIUS + 14, "middle"),
        boxes=tuple(boxes),
        edges=tuple(edges),
        columns=columns,
    )


def tall(task: TaskView, chunks: Mapping[int, Sequence[ChunkMark]] | None = None) -> Diagram:
    """Top to bottom for narrow screens: a rail from the fork down the left side to each
    sub-task that reads the source, another down the right side from the last stage of each
    chain to the join. A chain's next stage sits on the row below, indented, with an arrow
    down from its upstream."""
    left, right, box_x, box_w = 24, 336, 46, 268
    start_y, fork_y, top = 22, 70, 104
    graph = _Graph(task, chunks or {})
    row_of = {index: row for row, index in enumerate(graph.preorder())}
    boxes = []
    for sub in graph.subs:
        indent = INDENT * graph.depth[sub.index]
        width = box_w - indent
        y = top + row_of[sub.index] * ROW
        boxes.append(_box(graph, sub, box_x + indent, y, width, _title_fit(width, 30, 268)))
    by_index = {box.index: box for box in boxes}
    mids = sorted(box.y + box.height / 2 for box in boxes) or [top + BOX_HEIGHT / 2]
    roots = [box.y + box.height / 2 for box in boxes if box.upstream is None] or mids
    leaves = [box.y + box.height / 2 for box in boxes if graph.leaf(box.index)] or mids
    join_y = mids[-1] + 46
    end_y = join_y + 44
    began = task.state is not TaskState.QUEUED
    edges = [
        Edge(_line((left, start_y + RADIUS), (left, fork_y - FORK_HALF)), began),
        Edge(_line((left, fork_y + FORK_HALF), (left, max(roots))), began),
        Edge(_line((right, min(leaves)), (right, join_y - JOIN_RADIUS)), task.state.is_terminal),
    ]
    for box in boxes:
        mid = box.y + box.height / 2
        ok = box.state is SubTaskState.SUCCEEDED
        if box.upstream is None:
            edges.append(Edge(_line((left, mid), (box_x, mid)), ok))
        else:
            up = by_index[box.upstream]
            x = up.x + INDENT / 2
            edges.append(Edge(_line((x, up.y + up.height), (x, mid), (box.x, mid)), ok, True))
        if graph.leaf(box.index):
            edges.append(Edge(_line((box.x + box.width, mid), (right, mid)), ok))
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
        columns=1 + max(graph.depth.values(), default=0),
    )
