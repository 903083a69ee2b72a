"""Dependency resolution: versions with ``packaging``, load order by topological sort.

A plugin whose dependency is missing, mismatched, cyclic or itself failed is not
started and says why; independent plugins still load.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet

from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.manifest import Problem


@dataclass(slots=True)
class Resolution:
    """Load order of the plugins that can start, and why the others cannot."""

    order: list[str] = field(default_factory=list)
    failed: dict[str, Problem] = field(default_factory=dict)
    dependents: dict[str, set[str]] = field(default_factory=dict)

    def dependents_of(self, plugin_id: str) -> list[str]:
        """Every plugin that depends on ``plugin_id``, transitively, in reload order."""
        seen: set[str] = set()
        stack = [plugin_id]
        while stack:
            for dep in self.dependents.get(stack.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        position = {pid: i for i, pid in enumerate(self.order)}
        return sorted(seen, key=lambda pid: (position.get(pid, len(position)), pid))


def _find_cycle(graph: dict[str, list[str]], nodes: Iterable[str]) -> list[str] | None:
    """A dependency cycle among ``nodes`` as a path ``[a, b, c, a]``, if any."""
    nodes = set(nodes)
    state: dict[str, int] = {}
    for start in sorted(nodes):
        if state.get(start):
            continue
        path: list[str] = []
        stack: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in nodes:
                    continue
                if state.get(child) == 1:
                    return path[path.index(child):] + [child]
                if not state.get(child):
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(graph.get(child, ())))))
                    break
            else:
                state[node] = 2
                path.pop()
                stack.pop()
    return None


def resolve(sources: list[PluginSource]) -> Resolution:
    """Check every dependency and compute a deterministic load order."""
    by_id = {s.id: s for s in sources}
    result = Resolution()
    requires: dict[str, list[str]] = {}
    for source in sources:
        deps = requires.setdefault(source.id, [])
        for dep_id, spec in source.manifest.dependencies.items():
            where = str(source.manifest_path)
            target = by_id.get(dep_id)
            if target is None:
                result.failed.setdefault(source.id, Problem(
                    where, f"dependencies.{dep_id}",
                    f"requires plugin {dep_id!r}, which is not in the workspace"))
                continue
            if spec and not SpecifierSet(spec).contains(target.manifest.parsed_version,
                                                        prereleases=True):
                result.failed.setdefault(source.id, Problem(
                    where, f"dependencies.{dep_id}",
                    f"requires {dep_id} {spec} but version {target.manifest.version} is present"))
            deps.append(dep_id)
            result.dependents.setdefault(dep_id, set()).add(source.id)

    indegree = {pid: len(deps) for pid, deps in requires.items()}
    ready = [pid for pid, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        pid = heapq.heappop(ready)
        order.append(pid)
        for dependent in result.dependents.get(pid, ()):
            indegree[dependent] -= 1
            if indegree[dependent] == 0:
                heapq.heappush(ready, dependent)

    stuck = [pid for pid, n in indegree.items() if n > 0]
    while stuck:
        cycle = _find_cycle(requires, stuck)
        if cycle is None:
            break
        text = " -> ".join(cycle)
        for pid in cycle[:-1]:
            result.failed.setdefault(pid, Problem(
                str(by_id[pid].manifest_path), "dependencies", f"dependency cycle {text}"))
        stuck = [pid for pid in stuck if pid not in cycle]

    # Anything after its failed dependency fails too, with the reason.
    for pid in order:
        if pid in result.failed:
            continue
        for dep_id in requires[pid]:
            if dep_id in result.failed:
                result.failed[pid] = Problem(
                    str(by_id[pid].manifest_path), f"dependencies.{dep_id}",
                    f"not started because {dep_id} failed: {result.failed[dep_id].reason}")
                break
    for pid in stuck:  # depends on a cycle without being in one
        if pid not in result.failed:
            bad = next(d for d in requires[pid] if d in result.failed or d in stuck)
            result.failed[pid] = Problem(str(by_id[pid].manifest_path), f"dependencies.{bad}",
                                         f"not started because {bad} cannot start (dependency cycle)")
    result.order = [pid for pid in order if pid not in result.failed]
    return result
