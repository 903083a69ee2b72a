"""Dependency resolution: versions with ``packaging``, load order by topological sort
(cycles named with ``graphlib``).

A plugin whose dependency is missing, mismatched, cyclic or itself failed is not
started and says why; independent plugins still load.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet

from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.manifest import Problem


@dataclass(slots=True)
class Resolution:
    """Load order of the plugins that can start, and why the others cannot."""

    order: list[str] = field(default_factory=list)
    failed: dict[str, Problem] = field(default_factory=dict)
    """The first reason each plugin that cannot start has."""
    problems: list[Problem] = field(default_factory=list)
    """Every reason of every plugin that cannot start (a plugin may have several)."""
    dependents: dict[str, set[str]] = field(default_factory=dict)

    def fail(self, plugin_id: str, problem: Problem) -> None:
        """Record that ``plugin_id`` cannot start because of ``problem``."""
        self.failed.setdefault(plugin_id, problem)
        self.problems.append(problem)

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


def resolve(sources: list[PluginSource], unavailable: Mapping[str, str] | None = None,
            failed: Mapping[str, Problem] | None = None) -> Resolution:
    """Check every dependency and compute a deterministic load order.

    ``unavailable`` names plugins that are in the workspace but not among ``sources``
    (an invalid manifest), each with the end of the sentence "requires plugin X, which
    is present but ...". ``failed`` gives sources already known not to start (an entry
    that fails to import): they are left out of the order and fail their dependents.
    """
    by_id = {s.id: s for s in sources}
    result = Resolution(failed=dict(failed or {}))
    requires = {s.id: _check_dependencies(s, by_id, unavailable or {}, result) for s in sources}
    order = _load_order(requires, by_id, result)
    for pid in order:  # in load order, so a failure reaches every transitive dependent
        failed_dep = next((d for d in requires[pid] if d in result.failed), None)
        if failed_dep is not None and pid not in result.failed:
            result.fail(pid, Problem(
                str(by_id[pid].manifest_path), f"dependencies.{failed_dep}",
                f"not started because {failed_dep} failed: {result.failed[failed_dep].reason}"))
    result.order = [pid for pid in order if pid not in result.failed]
    return result


def _check_dependencies(source: PluginSource, by_id: Mapping[str, PluginSource],
                        unavailable: Mapping[str, str], result: Resolution) -> list[str]:
    """The ids ``source`` depends on that are present; every missing or mismatched one
    is recorded in ``result`` (all of them, not just the first)."""
    where = str(source.manifest_path)
    present = []
    for dep_id, spec in source.manifest.dependencies.items():
        target = by_id.get(dep_id)
        if target is None:
            why = unavailable.get(dep_id)
            reason = (f"requires plugin {dep_id!r}, which is present but {why}" if why
                      else f"requires plugin {dep_id!r}, which is not in the workspace")
            result.fail(source.id, Problem(where, f"dependencies.{dep_id}", reason))
            continue
        if spec and not SpecifierSet(spec).contains(target.manifest.parsed_version,
                                                    prereleases=True):
            result.fail(source.id, Problem(
                where, f"dependencies.{dep_id}",
                f"requires {dep_id} {spec} but version {target.manifest.version} is present"))
        present.append(dep_id)
        result.dependents.setdefault(dep_id, set()).add(source.id)
    return present


def _load_order(requires: Mapping[str, list[str]], by_id: Mapping[str, PluginSource],
                result: Resolution) -> list[str]:
    """Dependencies before dependents, smallest ready id first (a deterministic order).
    Each dependency cycle fails its members; the plugins that depend on a cycle come
    last (the caller fails them)."""
    order = _topological(requires)
    placed = set(order)
    stuck = {pid: deps for pid, deps in requires.items() if pid not in placed}
    cut: set[str] = set()
    for cycle in _cycles(stuck):
        text = " -> ".join(cycle)
        for pid in cycle[:-1]:
            result.fail(pid, Problem(str(by_id[pid].manifest_path), "dependencies",
                                     f"dependency cycle {text}"))
        cut.update(cycle)
    return order + _topological({pid: [d for d in deps if d not in cut]
                                 for pid, deps in stuck.items() if pid not in cut})


def _topological(requires: Mapping[str, list[str]]) -> list[str]:
    """Kahn's algorithm with a heap: among the plugins whose dependencies are placed,
    the smallest id goes next. Plugins in or behind a cycle are left out; dependencies
    outside ``requires`` count as placed."""
    waiting = {pid: 0 for pid in requires}
    dependents: dict[str, list[str]] = {}
    for pid, deps in requires.items():
        for dep in deps:
            if dep in waiting:
                waiting[pid] += 1
                dependents.setdefault(dep, []).append(pid)
    ready = [pid for pid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        pid = heapq.heappop(ready)
        order.append(pid)
        for dependent in dependents.get(pid, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    return order


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Every dependency cycle in ``graph`` as ``[a, b, c, a]`` (a requires b), starting
    at its smallest id. graphlib reports one cycle at a time; each is cut out in turn."""
    remaining = dict(graph)
    cycles: list[list[str]] = []
    while remaining:
        try:
            graphlib.TopologicalSorter(remaining).prepare()
            break
        except graphlib.CycleError as exc:
            path = exc.args[1][::-1]  # graphlib walks from dependency to dependent
        start = path.index(min(path[:-1]))
        cycles.append(path[start:-1] + path[:start + 1])
        for pid in path:
            remaining.pop(pid, None)
    return cycles
