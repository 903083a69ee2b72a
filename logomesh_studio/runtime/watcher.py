"""Workspace file watching: watchdog events, filtered, posted into the runtime loop.

The observer thread never touches plugins: it drops noise (bytecode, editor temp
and backup files, our own reads) and hands each remaining change to the loop
with the moment it was seen and whether a save completed (close after write, rename
onto the file), was written, or a path went away.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from logomesh_studio.runtime.debounce import CLOSED, GONE, SAVED, WRITE

IGNORED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".logomesh", ".idea", ".vscode",
                ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"}
IGNORED_FILES = ("*.pyc", "*.pyo", "*.swp", "*.swx", "*.swo", "*~", ".#*", "#*#", "4913",
                 "*___jb_tmp___", "*___jb_old___", "*.tmp", "*.kate-swp", ".DS_Store")

_IGNORED_NAME = re.compile("|".join(fnmatch.translate(p) for p in IGNORED_FILES))
"""IGNORED_FILES as one pattern (checked for every file event and every hashed file)."""

WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, FileDeletedEvent,
    DirCreatedEvent, DirMovedEvent, DirDeletedEvent]
"""The events a reload follows. Opens and read-only closes are left out: on Linux they
are not even asked of inotify, so the reload's own reads of the plugin's files do not
wake the observer's threads, which would compete with the reload for the GIL."""

# (path relative to the workspace, perf_counter time the observer saw it, event kind)
ChangeCallback = Callable[[tuple[str, ...], float, str], None]


def is_ignored(relative: tuple[str, ...]) -> bool:
    """True for paths no reload should follow (bytecode, editor droppings, VCS)."""
    if not relative or any(part in IGNORED_DIRS for part in relative[:-1]):
        return True
    name = relative[-1]
    return name in IGNORED_DIRS or _IGNORED_NAME.match(name) is not None


def _kind(event: FileSystemEvent) -> str | None:
    """The debouncer's kind for a watchdog event (None: not a change)."""
    kind = event.event_type
    if kind == EVENT_TYPE_CLOSED:  # IN_CLOSE_WRITE: a save is complete
        return CLOSED
    if kind == EVENT_TYPE_DELETED:
        return GONE
    if event.is_directory:  # a folder's own "modified" only echoes its children's events
        return SAVED if kind == EVENT_TYPE_CREATED else None
    if kind in (EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED):
        return WRITE
    return None


class _Handler(FileSystemEventHandler):
    """Posts events under ``root`` as paths starting with ``prefix``."""

    def __init__(self, root: Path, prefix: tuple[str, ...], loop: asyncio.AbstractEventLoop,
                 callback: ChangeCallback, observed: dict[str, float]) -> None:
        self._root = str(root)
        self._prefix = prefix
        self._loop = loop
        self._callback = callback
        self._observed = observed

    def _post(self, path: str | bytes, seen: float, kind: str) -> None:
        path = path.decode() if isinstance(path, bytes) else path
        if not path.startswith(self._root):
            return
        relative = (*self._prefix, *Path(path[len(self._root):].lstrip("/\\")).parts)
        if not is_ignored(relative):
            self._observed[relative[0]] = seen  # read on the loop while it is busy
            self._loop.call_soon_threadsafe(self._callback, relative, seen, kind)

    def on_any_event(self, event: FileSystemEvent) -> None:
        seen = time.perf_counter()
        if event.event_type == EVENT_TYPE_MOVED:  # safe-write saves rename temp -> target
            self._post(event.src_path, seen, GONE)
            self._post(event.dest_path, seen, SAVED)
            return
        kind = _kind(event)
        if kind is not None:
            self._post(event.src_path, seen, kind)


class WorkspaceWatcher:
    """Watches a workspace tree and calls ``callback(relative_parts, seen, kind)`` on the
    loop; plugin folders that are symlinks to elsewhere are followed with ``follow``.

    ``observed`` (workspace folder -> when the observer last saw a change under it) is
    written from the observer thread at once, before the callback reaches the loop: a
    reload running on the loop can tell that its folder changed again meanwhile."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop,
                 callback: ChangeCallback, observed: dict[str, float] | None = None) -> None:
        self.root = root.resolve()
        self._loop = loop
        self._callback = callback
        self.observed: dict[str, float] = {} if observed is None else observed
        self._observer = Observer()
        self._observer.schedule(_Handler(self.root, (), loop, callback, self.observed),
                                str(self.root), recursive=True, event_filter=WATCHED_EVENTS)
        self._followed: dict[str, ObservedWatch] = {}

    def start(self) -> None:
        """Start watching; watches are in place when this returns."""
        self._observer.start()

    def follow(self, name: str, target: Path) -> None:
        """Also watch ``target`` (the resolved folder a symlink ``name`` points to), whose
        changes the recursive watch of the workspace does not see."""
        self.unfollow(name)
        self._followed[name] = self._observer.schedule(
            _Handler(target, (name,), self._loop, self._callback, self.observed), str(target),
            recursive=True, event_filter=WATCHED_EVENTS)

    def unfollow(self, name: str) -> None:
        """Stop watching what ``follow(name, ...)`` added (no-op if nothing)."""
        watch = self._followed.pop(name, None)
        if watch is not None:
            self._observer.unschedule(watch)

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
