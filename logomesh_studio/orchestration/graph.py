"""The orchestration as a graph: lanes (phases), nodes (tasks) and the edges between them.

Edges are never stored: a task feeds another when the second reads (through a
``${...}`` reference in its input or a name in its condition) a context key the
first writes (its ``output_mapping`` keys, else its name). The latest earlier
writer wins, as in a run. Positions come from the file's ``layout`` section, else
from :func:`auto_layout`. Works on plain data, so a half-edited document still draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from logomesh_studio.orchestration.conditions import ConditionError, compile_condition
from logomesh_studio.runtime.templates import references

NODE_WIDTH, NODE_HEIGHT = 190.0, 66.0
LANE_HEIGHT, LANE_HEADER = 120.0, 150.0
NODE_GAP = 30.0
_TOP = re.compile(r"[A-Za-z_][\w\-]*")


@dataclass(frozen=True, slots=True)
class TaskNode:
    """One task as drawn: where it sits, what it calls, what it reads and writes."""

    name: str
    phase: str
    phase_index: int
    index: int
    target: str
    type: str
    reads: frozenset[str]
    writes: tuple[str, ...]
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Lane:
    """One phase as drawn: a horizontal band."""

    name: str
    mode: str
    index: int
    y: float
    required: bool = True
    tasks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Edge:
    """``source`` writes ``key`` that ``target`` reads."""

    source: str
    target: str
    key: str


@dataclass(slots=True)
class Graph:
    """Lanes, nodes by name and edges of one document."""

    lanes: list[Lane] = field(default_factory=list)
    nodes: dict[str, TaskNode] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)


def lane_y(index: int) -> float:
    """The top of lane ``index``."""
    return index * LANE_HEIGHT


def auto_position(phase_index: int, index: int) -> tuple[float, float]:
    """Where task ``index`` of phase ``phase_index`` goes without a saved position."""
    return (LANE_HEADER + index * (NODE_WIDTH + NODE_GAP),
            lane_y(phase_index) + (LANE_HEIGHT - NODE_HEIGHT) / 2)


def reads(task: Mapping[str, Any]) -> frozenset[str]:
    """The context keys a task reads (``input`` included)."""
    found: set[str] = set()
    for text in _strings(task.get("input")):
        for ref in references(text):
            top = _TOP.match(ref)
            if top is not None:
                found.add(top.group(0))
    condition = task.get("condition")
    if isinstance(condition, str):
        try:
            found |= compile_condition(condition).names
        except ConditionError:
            pass
    return frozenset(found)


def writes(task: Mapping[str, Any]) -> tuple[str, ...]:
    """The context keys a task writes: its mapping's keys, else its name."""
    mapping = task.get("output_mapping")
    if isinstance(mapping, dict) and mapping:
        return tuple(str(k) for k in mapping)
    return (str(task.get("name", "")),)


def build(data: Mapping[str, Any]) -> Graph:
    """The graph of a document's plain data (malformed parts are skipped)."""
    graph = Graph()
    layout = _mapping(data.get("layout"))
    writer: dict[str, str] = {}
    phases = _list(data.get("phases"))
    for p, phase in enumerate(phases):
        if not isinstance(phase, dict):
            continue
        tasks = _list(phase.get("tasks"))
        names: list[str] = []
        parallel = phase.get("mode") == "parallel"
        written_here: dict[str, str] = {}
        for t, task in enumerate(tasks):
            if not isinstance(task, dict) or not isinstance(task.get("name"), str):
                continue
            name = task["name"]
            if name in graph.nodes:
                continue
            x, y = _position(layout.get(name), auto_position(p, t))
            node = TaskNode(name, str(phase.get("name", "")), p, t, str(task.get("target", "")),
                            str(task.get("type") or ""), reads(task), writes(task), x, y)
            graph.nodes[name] = node
            names.append(name)
            for key in sorted(node.reads):
                if key in writer:
                    graph.edges.append(Edge(writer[key], name, key))
            for key in node.writes:
                (written_here if parallel else writer)[key] = name
        writer.update(written_here)
        graph.lanes.append(Lane(str(phase.get("name", "")), str(phase.get("mode", "sequential")),
                                p, lane_y(p), phase.get("required", True) is not False,
                                tuple(names)))
    return graph


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _position(entry: Any, default: tuple[float, float]) -> tuple[float, float]:
    if isinstance(entry, dict):
        x, y = entry.get("x"), entry.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float) \
                and not isinstance(x, bool) and not isinstance(y, bool):
            return float(x), float(y)
    return default


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
