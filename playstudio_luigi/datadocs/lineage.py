"""Lineage from the code itself: the Luigi task graph of one hour, and the tables it moves.

The task graph is found by walking ``requires()`` from a root task (``HourlyPipeline(hour)``),
the table lineage from the ``reads``/``writes`` of the task classes in that graph: when the
pipeline changes, so do the pictures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import luigi
from luigi.task import flatten

from playstudio_luigi.intervals import ONE_HOUR


@dataclass(frozen=True)
class Node:
    """One box of a lineage picture."""

    id: str
    label: str
    kind: str  # task family, or layer of a table: decides the colour
    detail: str = ""


@dataclass
class Graph:
    """Nodes in columns (left to right, by longest path from a source) and directed edges."""

    columns: list[list[Node]]
    edges: list[tuple[str, str]] = field(default_factory=list)

    @property
    def nodes(self) -> list[Node]:
        return [node for column in self.columns for node in column]


def walk(root: luigi.Task) -> dict[str, luigi.Task]:
    """``root`` and every task it requires, directly or not, by task id."""
    tasks: dict[str, luigi.Task] = {}
    pending = [root]
    while pending:
        task = pending.pop()
        if task.task_id not in tasks:
            tasks[task.task_id] = task
            pending.extend(flatten(task.requires()))
    return tasks


def task_graph(root: luigi.Task) -> Graph:
    """The task graph of ``root``; edges point the way data flows (requirement → task)."""
    tasks = walk(root)
    edges = {
        (required.task_id, task_id)
        for task_id, task in tasks.items()
        for required in flatten(task.requires())
    }
    nodes = [
        Node(
            task_id,
            f"{task.get_task_family()} {_interval_label(task)}",
            task.get_task_family(),
            _interval_label(task),
        )
        for task_id, task in tasks.items()
    ]
    return layered(nodes, edges)


def table_lineage(root: luigi.Task) -> Graph:
    """Source sheets and tables, linked by the tasks of ``root``'s graph that move data.

    Each edge ``(read, written)`` is one a task class declares; self-loops are dropped.
    """
    classes = {type(task): None for task in walk(root).values()}
    names: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for cls in classes:
        reads, writes = (
            getattr(cls, "reads", ()),
            getattr(cls, "writes", ()),
        )  # not every task moves data
        names.update(reads, writes)
        edges.update((r, w) for r in reads for w in writes if r != w)
    nodes = [Node(name, _table_label(name), layer_of(name), _table_detail(name)) for name in names]
    return layered(nodes, edges)


def layer_of(name: str) -> str:
    """``sheet`` for a source sheet, else the schema: ``bronze.bronze_purchases`` → bronze."""
    return "sheet" if name.startswith("sheet:") else name.split(".", 1)[0]


def _table_label(name: str) -> str:
    return f"{name.removeprefix('sheet:')} (sheet)" if name.startswith("sheet:") else name


def _table_detail(name: str) -> str:
    return "source sheet" if name.startswith("sheet:") else layer_of(name)


def _interval_label(task: luigi.Task) -> str:
    window = task.window
    return f"{window.start:%H:%M}" if window.end - window.start < ONE_HOUR else "hour"


def layered(nodes: Iterable[Node], edges: Iterable[tuple[str, str]]) -> Graph:
    """Place each node in the column of its longest path from a source (a node with no input)."""
    by_id = {node.id: node for node in nodes}
    edges = sorted(set(edges))
    upstream: dict[str, list[str]] = {node_id: [] for node_id in by_id}
    for source, target in edges:
        upstream[target].append(source)
    depth: dict[str, int] = {}

    def depth_of(node_id: str) -> int:
        if node_id not in depth:
            depth[node_id] = 1 + max((depth_of(u) for u in upstream[node_id]), default=-1)
        return depth[node_id]

    columns: list[list[Node]] = [[] for _ in range(1 + max(map(depth_of, by_id), default=-1))]
    for node_id, node in by_id.items():
        columns[depth_of(node_id)].append(node)
    for column in columns:
        column.sort(key=lambda node: (node.kind, node.detail, node.id))
    return Graph(columns, edges)
