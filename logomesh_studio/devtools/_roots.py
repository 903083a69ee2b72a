"""Map source files to the plugin whose folder holds them."""

from __future__ import annotations

import os
from collections.abc import Mapping


def _normalise(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


class PluginRoots:
    """Answers "which plugin owns this file?" for a ``{plugin_id: folder}`` mapping.

    The nearest (longest) enclosing folder wins, so a plugin nested inside another
    plugin's folder keeps its own files. Answers are cached per file name, which
    keeps the per-sample cost to one dict look-up.
    """

    def __init__(self, roots: Mapping[str, str | os.PathLike[str]] | None = None) -> None:
        pairs = [
            (_normalise(os.fspath(folder)), plugin) for plugin, folder in (roots or {}).items()
        ]
        pairs.sort(key=lambda pair: len(pair[0]), reverse=True)
        self._roots = [(folder.rstrip(os.sep) + os.sep, plugin) for folder, plugin in pairs]
        self._cache: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return bool(self._roots)

    def plugin_of(self, filename: str | None) -> str | None:
        """Return the id of the plugin whose folder contains ``filename``, or None."""
        if not filename or not self._roots:
            return None
        try:
            return self._cache[filename]
        except KeyError:
            pass
        plugin = None
        if not filename.startswith("<"):
            path = _normalise(filename)
            for folder, candidate in self._roots:
                if path.startswith(folder):
                    plugin = candidate
                    break
        self._cache[filename] = plugin
        return plugin
