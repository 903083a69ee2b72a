"""Plugin code stuck in a lifecycle call: say where, and abort it.

An async ``initialize`` that awaits too long is cancelled by its timeout, but sync code
that never returns (``while True: pass``) holds the runtime thread, so no asyncio
timeout can fire. A watchdog thread watches every lifecycle call; once one overruns
its timeout while plugin code is on the runtime thread's stack, it names the plugin and
its current line (``sys._current_frames()``) and raises :class:`LifecycleTimeout` in
the runtime thread (``PyThreadState_SetAsyncExc``), so the plugin fails with that
reason and the rest of the workspace goes on. Code blocked inside C (``time.sleep``,
a socket read) cannot be interrupted that way: it is reported, not aborted.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

from logomesh_studio.runtime.plugin_files import real_prefix

_log = logging.getLogger("logomesh.runtime")
_POLL = 0.05
"""Seconds between looks at an overdue call that was not running plugin code."""
_LINGER = 2.0
"""Seconds the watchdog thread waits for the next call once none is left, before it
ends: starting a thread per lifecycle call cost about 1.5 ms of every hot reload."""


def _set_async_exc(thread_id: int, exc: type[BaseException]) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc))


class _Drained(BaseException):
    """Takes the place of an abort that came too late, and is caught at once."""


def _drain_async_exc() -> None:
    """Drop an abort still pending on this thread.

    Not with ``PyThreadState_SetAsyncExc(id, NULL)``: on CPython 3.11 that leaves the
    interpreter's "async exception pending" flag set, so every thread takes the slow
    path at each check, and a thread under ``sys.settrace`` (the debugger attached to
    the runtime thread) then loops for ever on the first line of the next function it
    calls. An exception raised and caught here clears the flag as any delivery does.
    """
    try:
        _set_async_exc(threading.get_ident(), _Drained)
        for _ in range(1000):  # the loop's jump checks for it, if nothing before did
            pass
    except _Drained:
        return


class LifecycleTimeout(BaseException):
    """Raised into plugin code stuck past its lifecycle timeout (a BaseException, so a
    plugin's ``except Exception`` does not swallow it)."""


@dataclass(slots=True, eq=False)
class _Watch:
    plugin_id: str
    stage: str
    prefix: str
    timeout: float
    deadline: float
    thread_id: int
    where: str = ""
    injected: bool = False
    reported: bool = False

    @property
    def reason(self) -> str:
        where = f"; it was stuck at {self.where} and was stopped" if self.where else ""
        return f"{self.stage}() did not return within {self.timeout} s{where}"


class LifecycleWatchdog:
    """Watches lifecycle calls on the runtime thread (one daemon thread, running while
    there are calls to watch and for ``_LINGER`` seconds after the last one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._watches: dict[int, _Watch] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._wake_at = 0.0  # when the watchdog thread looks again (monotonic)

    def guard(self, plugin_id: str, stage: str, folder: Path, timeout: float | None
              ) -> LifecycleGuard:
        """A context manager around one lifecycle call made on this thread."""
        return LifecycleGuard(self, plugin_id, stage, folder, timeout)

    def stuck(self) -> list[str]:
        """Lifecycle calls past their timeout: 'plugin: stage() ... at file:line'."""
        with self._lock:
            now = time.monotonic()
            return [f"{w.plugin_id}: {w.reason}" for w in self._watches.values()
                    if w.deadline <= now]

    def abort_all(self) -> None:
        """Stop the calls being watched now, as soon as they run plugin code (the runtime
        is stopping: a Ctrl+C must not wait for a stuck initialize)."""
        with self._lock:
            now = time.monotonic()
            for watch in self._watches.values():
                watch.deadline = min(watch.deadline, now)
            self._changed.notify()

    # -- the runtime thread's side ----------------------------------------------------------

    def _enter(self, watch: _Watch) -> int:
        with self._lock:
            key = next(self._ids)
            self._watches[key] = watch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="logomesh-watchdog",
                                                daemon=True)
                self._wake_at = 0.0
                self._thread.start()
            elif watch.deadline < self._wake_at:  # else it looks in time without a wake-up
                self._changed.notify()
            return key

    def _leave(self, key: int) -> None:
        with self._lock:
            watch = self._watches.pop(key, None)
            if watch is not None and watch.injected:  # maybe still pending: take it back
                _drain_async_exc()  # on this thread, the watched one

    # -- the watchdog thread ----------------------------------------------------------------

    def _run(self) -> None:
        with self._lock:
            idle_since: float | None = None
            while True:
                now = time.monotonic()
                if not self._watches:  # idle: linger, then end (a later call starts anew)
                    idle_since = now if idle_since is None else idle_since
                    if now - idle_since >= _LINGER:
                        self._thread = None
                        return
                    self._wake_at = idle_since + _LINGER
                    self._changed.wait(self._wake_at - now)
                    continue
                idle_since = None
                wait: float | None = None
                for watch in list(self._watches.values()):
                    if watch.injected:
                        continue
                    if watch.deadline <= now:
                        self._expire(watch)
                        if not watch.injected:  # not in plugin code now: look again soon
                            wait = _POLL
                    else:
                        wait = min(wait or watch.deadline - now, watch.deadline - now)
                self._wake_at = float("inf") if wait is None else now + wait
                self._changed.wait(wait)

    def _expire(self, watch: _Watch) -> None:
        """Called with the lock held, once ``watch`` is past its deadline."""
        frame = sys._current_frames().get(watch.thread_id)
        innermost = _innermost_under(frame, watch.prefix)
        if innermost is None:
            return  # not in the plugin's code now (awaiting: asyncio's timeout handles it)
        watch.where = f"{innermost.f_code.co_filename}:{innermost.f_lineno} in " \
                      f"{innermost.f_code.co_name}"
        if not watch.reported:
            watch.reported = True
            _log.warning("plugin %s: %s", watch.plugin_id, watch.reason)
        watch.injected = True
        _set_async_exc(watch.thread_id, LifecycleTimeout)


class LifecycleGuard:
    """Watches one lifecycle call: ``with watchdog.guard(...):``."""

    __slots__ = ("_dog", "_watch", "_key")

    def __init__(self, dog: LifecycleWatchdog, plugin_id: str, stage: str, folder: Path,
                 timeout: float | None) -> None:
        self._dog = dog
        self._watch = None if timeout is None else _Watch(
            plugin_id, stage, real_prefix(folder), timeout,
            time.monotonic() + timeout, threading.get_ident())
        self._key = -1

    @property
    def reason(self) -> str:
        return self._watch.reason if self._watch is not None else ""

    def __enter__(self) -> LifecycleGuard:
        if self._watch is not None:
            self._key = self._dog._enter(self._watch)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._watch is None:
            return
        while True:  # the abort may arrive late, even in here: the call is over either way
            try:
                self._dog._leave(self._key)
                break
            except LifecycleTimeout:
                continue


def _innermost_under(frame: FrameType | None, prefix: str) -> FrameType | None:
    cache: dict[str, bool] = {}
    while frame is not None:
        filename = frame.f_code.co_filename
        inside = cache.get(filename)
        if inside is None:
            inside = cache[filename] = os.path.realpath(filename).startswith(prefix)
        if inside:
            return frame
        frame = frame.f_back
    return None
