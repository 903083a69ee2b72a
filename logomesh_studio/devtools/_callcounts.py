"""Exact call counts with cProfile, restricted to plugin folders.

Deterministic profiling slows call-heavy code several times over, so it is an
on-demand tool for "how often is this called?", not the default profiler.
"""

from __future__ import annotations

import cProfile
import os
import pstats
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._roots import PluginRoots


@dataclass(frozen=True, slots=True)
class CallStats:
    """cProfile's figures for one function of a plugin.

    ``calls`` counts every call, ``primitive_calls`` only those not made
    recursively; the times include cProfile's own overhead.
    """

    plugin: str | None
    name: str
    file: str
    line: int
    calls: int
    primitive_calls: int
    self_seconds: float
    total_seconds: float


class DeterministicProfiler:
    """Runs cProfile on the current thread while the ``with`` block runs.

    With ``plugin_roots``, :meth:`calls` keeps only functions defined under those
    folders (and only ``plugin``'s, when given); without, it keeps every Python
    function.
    """

    def __init__(
        self,
        plugin_roots: Mapping[str, str | os.PathLike[str]] | None = None,
        plugin: str | None = None,
    ) -> None:
        if plugin is not None and plugin not in (plugin_roots or {}):
            raise ValueError(f"plugin {plugin!r} is not one of plugin_roots")
        self._roots = PluginRoots(plugin_roots)
        self._plugin = plugin
        self._profile = cProfile.Profile()

    def __enter__(self) -> DeterministicProfiler:
        self._profile.enable()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._profile.disable()

    def calls(self) -> list[CallStats]:
        """Per-function call counts and times, most-called first."""
        raw = pstats.Stats(self._profile).stats  # type: ignore[attr-defined]
        result = []
        for (file, line, name), (primitive, calls, self_time, total, _callers) in raw.items():
            if file == "~":  # built-in functions have no source file
                continue
            plugin = self._roots.plugin_of(file)
            if self._roots and plugin is None:
                continue
            if self._plugin is not None and plugin != self._plugin:
                continue
            result.append(CallStats(plugin, name, file, line, calls, primitive, self_time, total))
        result.sort(key=lambda s: (-s.calls, s.file, s.line))
        return result


def count_calls(
    func: Callable[..., Any],
    *args: Any,
    roots: Mapping[str, str | os.PathLike[str]] | None = None,
    plugin: str | None = None,
    **kwargs: Any,
) -> list[CallStats]:
    """Call ``func(*args, **kwargs)`` under cProfile and return the call counts.

    ``roots`` and ``plugin`` restrict the result as in :class:`DeterministicProfiler`.
    """
    with DeterministicProfiler(roots, plugin) as profiler:
        func(*args, **kwargs)
    return profiler.calls()
