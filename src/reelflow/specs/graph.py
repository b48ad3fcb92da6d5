"""The task graph: which sub-task reads which sub-task's output.

A task's sub-tasks are the nodes of a directed acyclic graph. A node reads the task's source
or the output of one upstream node, named by its ``id`` (``input``). Only a transcode
makes something another node can read (a rendition); a node that needs pictures cannot read
an audio-only rendition, and nobody can read an HLS playlist (its segments are other
objects). Any door builds the graph from its own request shape into ``Node``s and calls
:func:`link`; the resolved ``SubTaskSpec`` keeps each node's upstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reelflow.errors import SpecError
from reelflow.specs.subtasks import SubTaskKind

INPUT_CODE = "InvalidParameterValue.Input"
ID_CODE = "InvalidParameterValue.Id"
NODES_CODE = "InvalidParameterValue.TaskNodes"


@dataclass(frozen=True, slots=True)
class Node:
    """One sub-task as the graph sees it. ``field`` names it in the request
    (``media_process_task.transcode_task_set[0]``); ``makes_video`` and ``playlist`` say
    what a transcode outputs; ``needs_video`` whether this node needs pictures to read."""

    field: str
    kind: SubTaskKind
    id: str | None = None
    input: str | None = None
    needs_video: bool = True
    makes_video: bool = False
    playlist: bool = False


def link(nodes: Sequence[Node], *, max_nodes: int | None = None) -> list[int | None]:
    """Each node's upstream (its position in ``nodes``, ``None`` for the source).

    ``SpecError`` (``InvalidParameterValue.*``) naming the node and the edge: more than
    ``max_nodes`` nodes, a duplicate id, an input that is no node's id, an upstream that
    makes nothing this node can read, or a cycle.
    """
    if max_nodes is not None:
        check_size(len(nodes), max_nodes)
    by_id: dict[str, int] = {}
    for position, node in enumerate(nodes):
        if node.id is None:
            continue
        if node.id in by_id:
            other = nodes[by_id[node.id]]
            raise SpecError(
                f"{node.field}.id: {node.id!r} is already the id of {other.field}",
                code=ID_CODE,
                field=f"{node.field}.id",
            )
        by_id[node.id] = position
    upstreams: list[int | None] = []
    for node in nodes:
        if node.input is None:
            upstreams.append(None)
            continue
        where = f"{node.field}.input"
        if node.input not in by_id:
            raise SpecError(
                f"{where}: {node.input!r} is not the id of a sub-task of this task",
                code=INPUT_CODE,
                field=where,
            )
        upstream = nodes[by_id[node.input]]
        problem = _unreadable(node, upstream)
        if problem:
            raise SpecError(f"{where}: {problem}", code=INPUT_CODE, field=where)
        upstreams.append(by_id[node.input])
    _check_acyclic(nodes, upstreams)
    return upstreams


def check_size(count: int, max_nodes: int) -> None:
    """``SpecError`` if a task of ``count`` sub-tasks has more than ``max_nodes``."""
    if count > max_nodes:
        raise SpecError(
            f"media_process_task: {count} sub-tasks, at most {max_nodes} in one task",
            code=NODES_CODE,
            field="media_process_task",
        )


def _unreadable(node: Node, upstream: Node) -> str:
    """Why ``node`` cannot read ``upstream``'s output ("" if it can)."""
    name = f"{upstream.id!r} ({upstream.field})"
    if upstream is node:
        return f"a sub-task cannot read its own output ({name})"
    if upstream.kind is not SubTaskKind.TRANSCODE:
        return (
            f"{name} is a {upstream.kind.value} sub-task; only a Transcode sub-task's "
            "output can be read by another sub-task"
        )
    if upstream.playlist:
        return f"{name} makes an HLS playlist, which another sub-task cannot read"
    if node.needs_video and not upstream.makes_video:
        return f"{name} makes an audio-only output, and this {node.kind.value} sub-task needs video"
    return ""


def _check_acyclic(nodes: Sequence[Node], upstreams: Sequence[int | None]) -> None:
    # Each node has at most one upstream: following the chain from any node either reaches
    # the source or comes back to a node already on the chain (a cycle).
    done: set[int] = set()
    for start in range(len(nodes)):
        chain: list[int] = []
        position: int | None = start
        while position is not None and position not in done:
            if position in chain:
                cycle = [*chain[chain.index(position) :], position]
                path = " -> ".join(repr(nodes[i].id) for i in cycle)
                where = f"{nodes[position].field}.input"
                raise SpecError(
                    f"{where}: the sub-tasks {path} read each other's output in a cycle",
                    code=INPUT_CODE,
                    field=where,
                )
            chain.append(position)
            position = upstreams[position]
        done.update(chain)


def dependents(upstreams: Sequence[int | None], index: int) -> set[int]:
    """Every node that reads ``index``'s output, directly or through others."""
    found: set[int] = set()
    frontier = {index}
    while frontier:
        frontier = {i for i, up in enumerate(upstreams) if up in frontier} - found
        found |= frontier
    return found
