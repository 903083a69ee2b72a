"""Workspace file watching: file events, filtered, posted into the runtime loop.

On Linux the kernel's inotify events are read on the runtime's loop itself; elsewhere
watchdog's observer thread posts them into it (and never touches plugins). Noise is
dropped (bytecode, editor temp and backup files, our own reads); each remaining change
reaches the loop with the moment it was seen and whether a save completed (close after
write, rename onto the file), was written, or a path went away.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

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
from watchdog.observers.api import BaseObserver, ObservedWatch

from logomesh_studio.runtime.debounce import CLOSED, GONE, SAVED, WRITE

if TYPE_CHECKING:
    from logomesh_studio.runtime.inotify_watch import InotifyWatch

_log = logging.getLogger(__name__)

OBSERVER_SETTLE = 0.0002
"""Seconds a completed save waits for events watchdog's threads are still passing on
(an atomic save's rename reaches the observer some 20 us after its close)."""
USE_INOTIFY = sys.platform.startswith("linux")
"""Read inotify on the runtime's loop (Linux); else watchdog's observer."""

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
    """Hands watchdog's events under ``root`` to ``post`` as paths starting with
    ``prefix`` (on the observer's thread)."""

    def __init__(self, root: Path, prefix: tuple[str, ...], post: ChangeCallback) -> None:
        self._root = str(root)
        self._prefix = prefix
        self._post = post

    def _relative(self, path: str | bytes) -> tuple[str, ...] | None:
        path = path.decode() if isinstance(path, bytes) else path
        if not path.startswith(self._root):
            return None
        return (*self._prefix, *Path(path[len(self._root):].lstrip("/\\")).parts)

    def on_any_event(self, event: FileSystemEvent) -> None:
        seen = time.perf_counter()
        if event.event_type == EVENT_TYPE_MOVED:  # safe-write saves rename temp -> target
            changes = [(event.src_path, GONE), (event.dest_path, SAVED)]
        else:
            kind = _kind(event)
            changes = [] if kind is None else [(event.src_path, kind)]
        for path, kind in changes:
            relative = self._relative(path)
            if relative is not None:
                self._post(relative, seen, kind)


class WorkspaceWatcher:
    """Watches a workspace tree and calls ``callback(relative_parts, seen, kind)`` on the
    loop; plugin folders that are symlinks to elsewhere are followed with ``follow``.

    On Linux the kernel's inotify events are read on the loop itself (see
    ``inotify_watch.py``); elsewhere, or if inotify cannot start (too many instances),
    watchdog's observer watches from its threads. ``observed`` (workspace folder -> when
    the observer last saw a change under it) is then written from the observer thread at
    once, before the callback reaches the loop: a reload running on the loop can tell
    that its folder changed again meanwhile. With inotify, ``drain()`` reads what the
    kernel has queued, to the same end."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop,
                 callback: ChangeCallback, observed: dict[str, float] | None = None) -> None:
        self.root = root.resolve()
        self._loop = loop
        self._callback = callback
        self.observed: dict[str, float] = {} if observed is None else observed
        self._inotify: InotifyWatch | None = None
        self._observer: BaseObserver | None = None
        self._followed: dict[str, ObservedWatch] = {}
        if USE_INOTIFY:
            try:
                from logomesh_studio.runtime.inotify_watch import InotifyWatch

                self._inotify = InotifyWatch(loop, self._on_loop, IGNORED_DIRS.__contains__)
            except (ImportError, OSError) as exc:
                _log.warning("inotify cannot be used (%s): watching files with watchdog's "
                             "observer", exc)
        if self._inotify is None:
            self._observer = Observer()
            self._observer.schedule(_Handler(self.root, (), self._from_observer),
                                    str(self.root), recursive=True, event_filter=WATCHED_EVENTS)

    def _noted(self, relative: tuple[str, ...], seen: float) -> bool:
        """False for noise; else records that ``relative``'s folder changed at ``seen``."""
        if is_ignored(relative):
            return False
        self.observed[relative[0]] = seen  # read on the loop, maybe while it is busy
        return True

    def _on_loop(self, relative: tuple[str, ...], seen: float, kind: str) -> None:
        if self._noted(relative, seen):
            self._callback(relative, seen, kind)

    def _from_observer(self, relative: tuple[str, ...], seen: float, kind: str) -> None:
        if self._noted(relative, seen):
            self._loop.call_soon_threadsafe(self._callback, relative, seen, kind)

    @property
    def settle(self) -> float:
        """How long a completed save should wait for events still on their way: none
        when inotify is read on the loop (``drain()`` reads what is queued), else
        ``OBSERVER_SETTLE``."""
        return 0.0 if self._inotify is not None else OBSERVER_SETTLE

    async def start(self) -> None:
        """Start watching; watches are in place when this returns."""
        if self._inotify is not None:
            await asyncio.to_thread(self._inotify.add_tree, str(self.root), ())
            self._inotify.attach()
        elif self._observer is not None:
            await asyncio.to_thread(self._observer.start)

    def drain(self) -> None:
        """Post the events already queued (with inotify; the observer posts its own)."""
        if self._inotify is not None:
            self._inotify.drain()

    def follow(self, name: str, target: Path) -> None:
        """Also watch ``target`` (the resolved folder a symlink ``name`` points to), whose
        changes the recursive watch of the workspace does not see."""
        self.unfollow(name)
        if self._inotify is not None:
            try:
                self._inotify.add_tree(str(target), (name,))
            except OSError as exc:
                _log.error("%s; changes to %s will not reload", exc, name)
        elif self._observer is not None:
            self._followed[name] = self._observer.schedule(
                _Handler(target, (name,), self._from_observer), str(target),
                recursive=True, event_filter=WATCHED_EVENTS)

    def unfollow(self, name: str) -> None:
        """Stop watching what ``follow(name, ...)`` added (no-op if nothing)."""
        if self._inotify is not None:
            self._inotify.remove_tree((name,))
        watch = self._followed.pop(name, None)
        if watch is not None and self._observer is not None:
            self._observer.unschedule(watch)

    async def stop(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None  # drain() and follow() do nothing from now on
        elif self._observer is not None:
            await asyncio.to_thread(self._stop_observer, self._observer)

    @staticmethod
    def _stop_observer(observer: BaseObserver) -> None:
        observer.stop()
        observer.join(timeout=5)
