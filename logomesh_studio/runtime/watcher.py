"""Workspace file watching: watchdog events, filtered, posted into the runtime loop.

The observer thread never touches plugins: it drops noise (bytecode, editor temp
and backup files, our own reads) and hands each remaining change to the loop
with the moment it was seen.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

IGNORED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".logomesh", ".idea", ".vscode",
                ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"}
IGNORED_FILES = ("*.pyc", "*.pyo", "*.swp", "*.swx", "*.swo", "*~", ".#*", "#*#", "4913",
                 "*___jb_tmp___", "*___jb_old___", "*.tmp", ".DS_Store")
_QUIET = {EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE}

# (path relative to the workspace, monotonic time the observer saw it)
ChangeCallback = Callable[[tuple[str, ...], float], None]


def is_ignored(relative: tuple[str, ...]) -> bool:
    """True for paths no reload should follow (bytecode, editor droppings, VCS)."""
    if not relative or any(part in IGNORED_DIRS for part in relative[:-1]):
        return True
    name = relative[-1]
    return name in IGNORED_DIRS or any(fnmatch.fnmatchcase(name, pat) for pat in IGNORED_FILES)


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop,
                 callback: ChangeCallback) -> None:
        self._root = str(root)
        self._loop = loop
        self._callback = callback

    def _post(self, path: str | bytes, seen: float) -> None:
        path = path.decode() if isinstance(path, bytes) else path
        if not path.startswith(self._root):
            return
        relative = tuple(Path(path[len(self._root):].lstrip("/\\")).parts)
        if not is_ignored(relative):
            self._loop.call_soon_threadsafe(self._callback, relative, seen)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _QUIET:
            return
        seen = time.perf_counter()
        self._post(event.src_path, seen)
        if event.event_type == EVENT_TYPE_MOVED:  # safe-write saves rename temp -> target
            self._post(event.dest_path, seen)


class WorkspaceWatcher:
    """Watches a workspace tree and calls ``callback(relative_parts, seen)`` on the loop."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop,
                 callback: ChangeCallback) -> None:
        self.root = root.resolve()
        self._observer = Observer()
        self._observer.schedule(_Handler(self.root, loop, callback), str(self.root),
                                recursive=True)

    def start(self) -> None:
        """Start watching; watches are in place when this returns."""
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
