"""Plugin code holding the runtime loop: noticed while it happens, with its line.

A heartbeat callback on the runtime loop notes the time every ``interval``; a watch
thread sleeps until the next beat is ``threshold`` overdue, and only then reads the
runtime thread's stack (``sys._current_frames()``), every ``sample_every`` seconds until
the loop beats again. The innermost plugin frame of those samples is where the loop was
held. Unlike runtime/watchdog.py, which stops lifecycle calls past a deadline, this one
never interrupts anything: it reports.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ._model import Frame
from ._roots import PluginRoots

__all__ = ["Block", "BlockingWatch"]

_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class Block:
    """The runtime loop was held by one plugin's code for ``seconds``."""

    plugin: str
    seconds: float
    location: Frame
    """The plugin's frame most often on top while the loop was held."""
    frames: tuple[tuple[Frame, int], ...]
    """Each plugin frame seen on top, with its number of samples, most common first."""
    message: tuple[str, str] | None
    """(target, type) of the handler that started last, when that is the plugin."""
    detected_after: float
    """Seconds from the loop's last beat to the first sample naming the plugin."""
    time: float


@dataclass(slots=True)
class _Stall:
    """A held loop being sampled."""

    beat: float
    message: tuple[str, str] | None
    seen: Counter[Frame] = field(default_factory=Counter)
    owners: Counter[str] = field(default_factory=Counter)
    detected: float = 0.0


class BlockingWatch:
    """Watches ``loop`` (run by thread ``thread_ident``) for plugin code holding it.

    ``on_block(block)`` is called on the watch thread once the loop beats again;
    ``on_detect(plugin, frame, seconds_since_last_beat)`` as soon as a held loop is
    seen (for latency measurements). ``on_beat`` runs on the loop at each beat.
    ``current`` names the handler that started last; ``paused`` says when blocks are
    not a plugin's doing (the runtime itself is loading or reloading plugins).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, thread_ident: int,
                 on_block: Callable[[Block], None], *, threshold: float = 0.05,
                 interval: float = 0.01, sample_every: float = 0.005,
                 roots: Mapping[str, str | os.PathLike[str]] | None = None,
                 on_detect: Callable[[str, Frame, float], None] | None = None,
                 on_beat: Callable[[], None] | None = None,
                 current: Callable[[], tuple[str, str] | None] | None = None,
                 paused: Callable[[], bool] | None = None) -> None:
        self.loop = loop
        self.ident = thread_ident
        self.threshold = threshold
        self.interval = interval
        self.sample_every = sample_every
        self._on_block = on_block
        self._on_detect = on_detect
        self._on_beat = on_beat
        self._current = current or (lambda: None)
        self._paused = paused or (lambda: False)
        self._roots = PluginRoots(roots)
        self._beat = _perf()
        self._handle: asyncio.TimerHandle | None = None
        self._lock = threading.Lock()
        self._stall: _Stall | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="logomesh-blocking-watch",
                                        daemon=True)

    def set_roots(self, roots: Mapping[str, str | os.PathLike[str]]) -> None:
        """Attribute frames to these plugin folders from now on."""
        self._roots = PluginRoots(roots)

    def start(self) -> None:
        """Begin beating (from any thread) and watching."""
        self.loop.call_soon_threadsafe(self._beat_now)
        self._thread.start()

    def close(self) -> None:
        """Stop watching and beating; closing twice is harmless."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()
        handle, self._handle = self._handle, None
        if handle is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(handle.cancel)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def settle(self) -> None:
        """Report a block still being sampled as over (any thread; the runtime loop runs
        again, so it is). The next heartbeat does this too; readers on the loop call it
        first so that a block that just ended is in what they read."""
        with self._lock:
            stall, self._stall = self._stall, None
        if stall is None or not stall.owners:
            return
        plugin = stall.owners.most_common(1)[0][0]
        frames = tuple((f, n) for f, n in stall.seen.most_common()
                       if self._roots.plugin_of(f.file) == plugin)
        held = max(_perf() - stall.beat - self.interval / 2, self.threshold)
        message = stall.message if stall.message and stall.message[0] == plugin else None
        self._on_block(Block(plugin=plugin, seconds=held, location=frames[0][0],
                             frames=frames[:5], message=message,
                             detected_after=stall.detected, time=time.time()))

    # -- the loop's side --------------------------------------------------------------------

    def _beat_now(self) -> None:
        self._beat = _perf()
        if self._stall is not None:
            self.settle()
        if self._stop.is_set():
            return
        self._handle = self.loop.call_later(self.interval, self._beat_now)
        if self._on_beat is not None:
            self._on_beat()

    # -- the watch thread -------------------------------------------------------------------

    def _watch(self) -> None:
        stop = self._stop
        while not stop.is_set():
            beat = self._beat
            wait = beat + self.interval + self.threshold - _perf()
            if wait > 0:
                stop.wait(wait)
            elif self._beat == beat and not self._paused():
                self._sample_block(beat)
            else:
                stop.wait(self.interval)

    def _sample_block(self, beat: float) -> None:
        """Sample the runtime thread until the loop runs again, then report the block."""
        stall = _Stall(beat, self._current())
        with self._lock:
            self._stall = stall
        while self._beat == beat and not self._stop.is_set():
            found = self._innermost()
            with self._lock:
                if self._stall is not stall:
                    return  # the loop ran again and reported it
                if found is not None:
                    plugin, frame = found
                    stall.seen[frame] += 1
                    stall.owners[plugin] += 1
                    if not stall.detected:
                        stall.detected = _perf() - beat
                        if self._on_detect is not None:
                            self._on_detect(plugin, frame, stall.detected)
            del found
            self._stop.wait(self.sample_every)
        if self._stop.is_set():
            with self._lock:
                self._stall = None
            return
        self.settle()

    def _innermost(self) -> tuple[str, Frame] | None:
        frame = sys._current_frames().get(self.ident)
        roots = self._roots
        while frame is not None:
            code = frame.f_code
            plugin = roots.plugin_of(code.co_filename)
            if plugin is not None:
                return plugin, Frame(code.co_qualname, code.co_filename, frame.f_lineno)
            frame = frame.f_back
        return None
