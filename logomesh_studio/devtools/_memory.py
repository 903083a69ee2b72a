"""Memory per plugin with tracemalloc: snapshots, top allocation sites, before/after diffs.

An allocation is charged to the innermost frame of its traceback that lies in a
plugin's folder, so memory a plugin allocates through the standard library
(``json.loads``, ``list(...)`` in a helper) still counts as the plugin's. That
needs tracebacks deeper than tracemalloc's default of one frame: start tracing
with :func:`trace_memory` or ``tracemalloc.start(25)``.
"""

from __future__ import annotations

import os
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from ._roots import PluginRoots

Roots = Mapping[str, str | os.PathLike[str]]
# Allocations made by tracemalloc and this module while taking a snapshot.
_OWN_FILES = frozenset({tracemalloc.__file__, __file__})


@dataclass(frozen=True, slots=True)
class AllocationSite:
    """Memory still allocated from one source line, and its change since a baseline."""

    plugin: str | None
    file: str
    line: int
    size_bytes: int
    count: int
    size_diff: int = 0
    count_diff: int = 0


@contextmanager
def trace_memory(frames: int = 25) -> Iterator[None]:
    """Trace allocations inside the block, keeping ``frames`` frames per traceback.

    Does nothing if tracemalloc is already tracing, so it nests and leaves an
    outer session running.
    """
    if tracemalloc.is_tracing():
        yield
        return
    tracemalloc.start(frames)
    try:
        yield
    finally:
        tracemalloc.stop()


class MemorySnapshot:
    """The memory allocated at one moment, as recorded by tracemalloc."""

    def __init__(self, snapshot: tracemalloc.Snapshot) -> None:
        self.snapshot = snapshot

    @classmethod
    def take(cls) -> MemorySnapshot:
        """Snapshot the traced memory now; tracemalloc must be tracing."""
        if not tracemalloc.is_tracing():
            raise RuntimeError(
                "tracemalloc is not tracing: wrap the code in trace_memory() "
                "or call tracemalloc.start(25) first"
            )
        return cls(tracemalloc.take_snapshot())

    def compare_to(
        self,
        before: MemorySnapshot,
        limit: int = 10,
        plugin_roots: Roots | None = None,
        plugin: str | None = None,
    ) -> list[AllocationSite]:
        """The ``limit`` sites whose memory changed most since ``before``."""
        roots = PluginRoots(plugin_roots)
        now = _sites(self.snapshot, roots, plugin)
        then = _sites(before.snapshot, roots, plugin)
        changes = []
        for key in now.keys() | then.keys():
            size, count = now.get(key, (0, 0))
            old_size, old_count = then.get(key, (0, 0))
            if size != old_size or count != old_count:
                changes.append(
                    AllocationSite(*key, size, count, size - old_size, count - old_count)
                )
        changes.sort(key=lambda site: -abs(site.size_diff))
        return changes[:limit]

    def plugin_bytes(self, plugin_roots: Roots) -> dict[str, int]:
        """Memory held per plugin."""
        totals: dict[str, int] = defaultdict(int)
        for (plugin, _file, _line), (size, _count) in _sites(
            self.snapshot, PluginRoots(plugin_roots), None
        ).items():
            if plugin is not None:
                totals[plugin] += size
        return dict(totals)


def _sites(
    snapshot: tracemalloc.Snapshot, roots: PluginRoots, plugin: str | None
) -> dict[tuple[str | None, str, int], tuple[int, int]]:
    """Sum size and count per (plugin, file, line) of the charged frame."""
    sites: dict[tuple[str | None, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for stat in snapshot.statistics("traceback"):
        # tracemalloc orders tracebacks from the oldest frame to the most recent.
        charged = stat.traceback[-1]
        if charged.filename in _OWN_FILES:
            continue
        owner = None
        if roots:
            for frame in reversed(stat.traceback):
                owner = roots.plugin_of(frame.filename)
                if owner is not None:
                    charged = frame
                    break
            if owner is None:
                continue
        if plugin is not None and owner != plugin:
            continue
        site = sites[(owner, charged.filename, charged.lineno)]
        site[0] += stat.size
        site[1] += stat.count
    return {key: (size, count) for key, (size, count) in sites.items()}
