"""Linux file watching read on the runtime's own loop, with no watcher threads.

The inotify descriptor is registered with the asyncio loop: a save wakes the loop,
which reads every event the kernel has queued in one go and posts them to the
debouncer directly. watchdog's observer takes a reader thread, an emitter, a
dispatcher and ``call_soon_threadsafe`` to do the same, 0.3-0.5 ms per save, and its
threads compete for the GIL with a reload that is running. Folders are watched
recursively: a folder created or moved in is watched at once, one removed or moved
away is dropped. ``drain()`` reads what is queued now, so the debouncer can ask
whether more of a save is on its way before it takes a batch.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import Callable
from typing import NamedTuple

from inotify_simple import INotify, flags

from logomesh_studio.runtime.debounce import CLOSED, GONE, SAVED, WRITE

_log = logging.getLogger(__name__)

MASK = (flags.CREATE | flags.MODIFY | flags.CLOSE_WRITE | flags.MOVED_FROM | flags.MOVED_TO
        | flags.DELETE | flags.ONLYDIR | flags.DONT_FOLLOW | flags.EXCL_UNLINK)
"""What a reload follows: no opens, reads or read-only closes (the reload's own reads
of the files it loads must not wake the loop)."""

Post = Callable[[tuple[str, ...], float, str], None]
"""``post(path relative to the workspace, as parts; when it was seen; kind)``."""
Skip = Callable[[str], bool]
"""True for a folder name not to watch (``.git``, ``__pycache__``, ...)."""


class _Place(NamedTuple):
    path: str
    parts: tuple[str, ...]
    """Its path relative to the workspace, as parts."""
    tree: tuple[str, ...]
    """The ``relative`` of the ``add_tree`` call that watches it."""


class InotifyWatch:
    """Watches folder trees through one inotify descriptor read on ``loop``. Call every
    method on the loop's thread, except ``add_tree`` before ``attach``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, post: Post, skip: Skip) -> None:
        self._loop = loop
        self._post = post
        self._skip = skip
        self._inotify = INotify(nonblocking=True)  # OSError: e.g. too many instances
        self._places: dict[int, list[_Place]] = {}
        """Watch descriptor -> where that folder is (one folder may be reached along
        two symlinks)."""
        self._trees: dict[tuple[str, ...], str] = {}
        """Relative parts -> path of each tree added with ``add_tree``."""
        self._attached = False

    def add_tree(self, folder: str, relative: tuple[str, ...]) -> None:
        """Watch ``folder`` and every folder under it (not through symlinks), reporting
        its paths as starting with ``relative``. OSError if inotify's watch limit is
        reached."""
        self._trees[relative] = folder
        self._watch(folder, relative, relative)

    def remove_tree(self, relative: tuple[str, ...]) -> None:
        """Stop watching what ``add_tree(..., relative)`` watches (no-op if nothing)."""
        if self._trees.pop(relative, None) is not None:
            self._unwatch(lambda place: place.tree == relative)

    def _watch(self, folder: str, relative: tuple[str, ...], tree: tuple[str, ...]) -> None:
        stack = [(folder, relative)]
        while stack:
            path, parts = stack.pop()
            try:
                wd = self._inotify.add_watch(path, MASK)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
                    continue  # gone again, or not ours to read: nothing to reload there
                if exc.errno == errno.ENOSPC:
                    raise OSError(exc.errno, f"cannot watch {path}: inotify's watch limit "
                                  "is reached (raise fs.inotify.max_user_watches)") from exc
                raise
            places, place = self._places.setdefault(wd, []), _Place(path, parts, tree)
            if place not in places:
                places.append(place)
            try:
                with os.scandir(path) as listing:
                    for entry in listing:
                        if entry.is_dir(follow_symlinks=False) and not self._skip(entry.name):
                            stack.append((entry.path, (*parts, entry.name)))
            except OSError:
                continue

    def _unwatch_under(self, relative: tuple[str, ...]) -> None:
        """Stop watching the folder ``relative`` (removed, or moved away) and those in it."""
        size = len(relative)
        self._unwatch(lambda place: place.parts[:size] == relative)

    def _unwatch(self, dropped: Callable[[_Place], bool]) -> None:
        for wd, places in list(self._places.items()):
            places[:] = [p for p in places if not dropped(p)]
            if not places:
                del self._places[wd]
                try:
                    self._inotify.rm_watch(wd)
                except OSError:  # its folder is gone: the kernel dropped the watch
                    pass

    def attach(self) -> None:
        """Start reading events on the loop."""
        self._loop.add_reader(self._inotify.fileno(), self.drain)
        self._attached = True

    def close(self) -> None:
        if self._attached:
            self._loop.remove_reader(self._inotify.fileno())
            self._attached = False
        self._inotify.close()
        self._places.clear()

    def drain(self) -> None:
        """Read and post every event queued now (none: returns at once)."""
        try:
            events = self._inotify.read(timeout=0)
        except OSError as exc:  # closed, or the kernel refused the read
            _log.error("reading file events failed: %s", exc)
            return
        if not events:
            return
        seen = time.perf_counter()
        for wd, mask, _, name in events:
            if mask & flags.Q_OVERFLOW:
                self._overflowed(seen)
                continue
            if mask & flags.IGNORED:  # its folder was removed: the watch is gone
                self._places.pop(wd, None)
                continue
            places = self._places.get(wd)
            if not places or not name:
                continue
            is_dir = mask & flags.ISDIR
            kind = _kind(mask, bool(is_dir))
            for place in list(places):
                relative = (*place.parts, name)
                if is_dir and mask & (flags.CREATE | flags.MOVED_TO) and not self._skip(name):
                    self._add_while_running(os.path.join(place.path, name), relative,
                                            place.tree)
                elif is_dir and mask & (flags.MOVED_FROM | flags.DELETE):
                    self._unwatch_under(relative)
                if kind is not None:
                    self._post(relative, seen, kind)

    def _add_while_running(self, folder: str, relative: tuple[str, ...],
                           tree: tuple[str, ...]) -> None:
        try:
            self._watch(folder, relative, tree)
        except OSError as exc:
            _log.error("%s; changes under it will not reload", exc)

    def _overflowed(self, seen: float) -> None:
        """The kernel's queue overflowed and events were lost: watch any folder made
        meanwhile, and report every top folder as saved (its hash tells what changed)."""
        _log.warning("too many file changes at once: some events were lost; checking "
                     "every plugin folder")
        for relative, folder in list(self._trees.items()):
            self._add_while_running(folder, relative, relative)
            try:
                names = [relative] if relative else [(n,) for n in os.listdir(folder)]
            except OSError:
                continue
            for parts in names:
                self._post(parts, seen, SAVED)


def _kind(mask: int, is_dir: bool) -> str | None:
    """The debouncer's kind for an inotify event (None: not a change)."""
    if mask & (flags.MOVED_FROM | flags.DELETE):
        return GONE
    if mask & flags.MOVED_TO:
        return SAVED
    if is_dir:  # a folder made: what is in it will be read by the hash
        return SAVED if mask & flags.CREATE else None
    if mask & flags.CLOSE_WRITE:
        return CLOSED
    return WRITE if mask & (flags.CREATE | flags.MODIFY) else None
