"""Save-aware debouncing of workspace file events into reload batches.

A save is complete when the file is closed after writing or renamed into place
(inotify's IN_CLOSE_WRITE / IN_MOVED_TO, watchdog's FileClosedEvent / moved events).
Then the batch fires a short settle after the observer saw it, once every event the
observer has seen is on the loop (an atomic save's rename reaches the observer some
20 us after its close), instead of after a fixed quiet period. Without close events
(some platforms and observers) a batch fires after ``quiet`` seconds without events.

Events that arrive while a batch is being applied, or within ``burst_quiet`` after
it, continue a burst (a checkout, a formatter, an editor saving twenty times in
100 ms): the burst gives one leading batch and one trailing batch once
``burst_quiet`` seconds pass without events, so each plugin reloads at most twice and
ends on the final content.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

_log = logging.getLogger(__name__)

STALE_WRITE_S = 2.0
"""A file written but not closed for this long no longer counts as being written (a
plugin keeping a log file open in its folder must not hold its reloads forever)."""

LOOP_TIMER_MIN = 0.005
"""Shorter delays (the settle) are timed by a thread of the debouncer's own: asyncio's
timers wake in whole milliseconds (the selector's timeout is rounded up), so a 0.5 ms
settle on the loop cost 1.3 ms."""

WRITE, CLOSED, SAVED, GONE = "write", "closed", "saved", "gone"
"""Kinds of file events: written (maybe not finished), closed after writing, saved
another way (renamed onto, a folder created), removed."""


@dataclass(slots=True)
class Batch:
    """File changes to apply together, by workspace folder (first path part)."""

    first_seen: float = 0.0
    """When the observer saw the first event (``perf_counter``)."""
    arrived: float = 0.0
    """When the first event reached the loop."""
    last_seen: float = 0.0
    """When the last event reached the loop."""
    saved_at: float = 0.0
    """When the observer saw the first completed save (0: none yet)."""
    seen_until: float = 0.0
    """When the observer saw the latest event of this batch."""
    paths: dict[str, list[str]] = field(default_factory=dict)
    """Folder -> changed paths (relative to the workspace), oldest first."""
    saved: dict[str, str] = field(default_factory=dict)
    """Folder -> the path most recently saved (closed after writing, or renamed onto)."""

    def cause(self, folder: str, exists: Callable[[str], bool]) -> str:
        """The file to name as the reason ``folder`` reloads: the saved file, not an
        editor's temporary file that was renamed onto it."""
        saved = self.saved.get(folder)
        if saved is not None and exists(saved):
            return saved
        paths = self.paths.get(folder, [folder])
        return next((p for p in reversed(paths) if exists(p)), paths[0])


class SaveDebouncer:
    """Turns file events posted on the loop into batches handed to ``apply``, which
    returns False if a batch changed nothing (no reload, no plugin added or removed):
    such a batch starts no burst, so a save right after it is not held back."""

    def __init__(self, apply: Callable[[Batch], Coroutine[Any, Any, bool | None]], settle: float,
                 quiet: float, burst_quiet: float | None = None) -> None:
        self._apply = apply
        self.settle = settle
        self.quiet = quiet
        self.burst_quiet = quiet if burst_quiet is None else burst_quiet
        self._pending: Batch | None = None
        self._open: dict[str, float] = {}  # written, not yet closed -> when last written
        self._timer: asyncio.Handle | None = None
        self._waker: _Waker | None = None  # times delays under LOOP_TIMER_MIN
        self._running: asyncio.Task[bool | None] | None = None
        self._hot_until = 0.0  # events before this continue the last batch's burst
        self._burst = False
        self._closed = False
        self._closes_seen = False  # this platform reports close-after-write
        self._taken = 0.0  # when the observer saw the last event of the batch taken last
        self.observed: dict[str, float] = {}
        """Folder -> when the file watcher last saw a change under it; watchdog's
        observer writes it from its thread before the event reaches the loop (see
        WorkspaceWatcher)."""
        self.drain: Callable[[], None] = _nothing
        """Posts the file events queued now but not read yet (see WorkspaceWatcher):
        called before a batch is taken and before a failure is judged."""

    def post(self, relative: tuple[str, ...], seen: float, kind: str) -> None:
        """Record one file event (on the loop); ``seen`` is when the observer saw it."""
        if self._closed:
            return
        now = time.perf_counter()
        batch = self._pending
        if batch is None:
            batch = self._pending = Batch(first_seen=seen, arrived=now)
        path, folder = "/".join(relative), relative[0]
        paths = batch.paths.setdefault(folder, [])
        if path not in paths:
            paths.append(path)
        if kind == WRITE:
            self._open[path] = now
        else:
            self._open.pop(path, None)
            if kind in (CLOSED, SAVED):
                self._closes_seen = self._closes_seen or kind == CLOSED
                batch.saved[folder] = path
                batch.saved_at = batch.saved_at or seen
        batch.last_seen = now
        batch.seen_until = max(batch.seen_until, seen)
        if self._running is not None or now < self._hot_until:
            self._burst = True
        self._schedule(now)

    def changing(self, folder: str) -> bool:
        """True while files of ``folder`` are still being written after the current
        batch was taken: a failure to load them now may be a half-written file."""
        self.drain()
        pending = self._pending
        return (pending is not None and folder in pending.paths) or any(
            p.startswith(folder + "/") for p in self._writing()) or (
            self.observed.get(folder, 0.0) > self._taken)  # seen, not yet on the loop

    def _writing(self) -> list[str]:
        """Paths written and not closed lately."""
        stale = time.perf_counter() - STALE_WRITE_S
        for path in [p for p, t in self._open.items() if t < stale]:
            del self._open[path]
        return list(self._open)

    def _due(self, batch: Batch) -> float:
        if self._burst:
            return batch.last_seen + self.burst_quiet
        if not batch.saved_at or self._writing():
            return batch.last_seen + self.quiet
        return batch.saved_at + self.settle

    def _schedule(self, now: float) -> None:
        self._cancel_timer()
        if self._running is not None or self._pending is None:
            return
        self._arm(self._due(self._pending), now)

    def _arm(self, due: float, now: float) -> None:
        """Call ``_fire`` at ``due`` (perf_counter time)."""
        delay, loop = due - now, asyncio.get_running_loop()
        if delay <= 0:
            self._timer = loop.call_soon(self._fire)
        elif delay >= LOOP_TIMER_MIN:
            self._timer = loop.call_later(delay, self._fire)
        else:
            if self._waker is None:
                self._waker = _Waker(loop, self._fire)
            self._waker.at(due)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waker is not None:
            self._waker.cancel()

    def _in_flight(self, batch: Batch) -> bool:
        """True if the observer saw an event that has not reached the loop yet."""
        return max(self.observed.values(), default=0.0) > batch.seen_until

    def _fire(self) -> None:
        if self._pending is None or self._running is not None:
            return
        self.drain()  # what the kernel queued meanwhile belongs to this batch
        batch = self._pending
        now, due = time.perf_counter(), self._due(batch)
        if due > now + 1e-4:  # an open write or a burst moved the deadline
            self._schedule(now)
            return
        self._cancel_timer()
        if self._in_flight(batch) and now < due + self.quiet:  # its post() schedules again
            self._arm(now + self.settle, now)
            return
        self._pending = None
        self._taken = batch.seen_until
        if not self._closes_seen:  # without close events a write never closes
            self._open.clear()
        self._running = asyncio.get_running_loop().create_task(self._apply(batch))
        self._running.add_done_callback(self._on_applied)

    def _on_applied(self, task: asyncio.Task[bool | None]) -> None:
        self._running = None
        idle = False  # the batch changed nothing: what follows is no burst
        if not task.cancelled():
            if task.exception() is not None:
                _log.error("applying file changes failed", exc_info=task.exception())
            else:
                idle = task.result() is False
        if self._closed:
            return
        now = time.perf_counter()
        self._hot_until = now if idle else now + self.burst_quiet
        self._burst = self._pending is not None and not idle
        self._schedule(now)

    async def close(self) -> None:
        """Drop pending changes, take no more, and wait for a batch being applied."""
        self._closed = True
        self._cancel_timer()
        self._pending = None
        self._open.clear()
        running = self._running
        if running is not None:
            await asyncio.shield(running)


def _nothing() -> None:
    pass


class _Waker:
    """Calls ``callback`` on ``loop`` at a ``perf_counter`` time, to within about 0.1 ms
    (a condition wait on a thread of its own, which ends after a second without work).
    A call may arrive after ``cancel``: the callback checks whether it is due."""

    _LINGER = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._changed = threading.Condition()
        self._when: float | None = None
        self._thread: threading.Thread | None = None

    def at(self, when: float) -> None:
        with self._changed:
            self._when = when
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="logomesh-settle",
                                                daemon=True)
                self._thread.start()
            else:
                self._changed.notify()

    def cancel(self) -> None:
        with self._changed:
            self._when = None

    def _run(self) -> None:
        with self._changed:
            while True:
                when = self._when
                if when is None:
                    if not self._changed.wait(self._LINGER) and self._when is None:
                        break
                    continue
                left = when - time.perf_counter()
                if left > 0:
                    self._changed.wait(left)
                    continue
                self._when = None
                try:
                    self._loop.call_soon_threadsafe(self._callback)
                except RuntimeError:  # the loop is closed
                    break
            self._thread = None
