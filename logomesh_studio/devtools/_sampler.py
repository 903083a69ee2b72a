"""The sampling thread: reads one thread's Python stack every interval.

The target is never interrupted: a background thread wakes up, takes the GIL,
reads the target's current frame from ``sys._current_frames()`` and walks
``f_back``. A CPU-bound target only releases the GIL every switch interval, so
the achieved rate can be well below ``1 / interval``; each sample is therefore
weighted by the clock's real advance since the previous one.

A profile keeps every sample; a long-running consumer (the plugin tree's CPU
meter) passes a ``sink`` instead, and ``stacks=False`` when the owning plugin is
all it needs: the walk then stops at the first plugin frame.
"""

from __future__ import annotations

import functools
import os
import selectors
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, ModuleType

from ._model import IDLE_FRAME, Frame, Sample
from ._roots import PluginRoots


def _source(module: ModuleType) -> str:
    return os.path.normcase(os.path.abspath(str(module.__file__)))


# The top Python frame of a thread that is waiting rather than working: the
# asyncio loop (and anything else) blocked in a selector, and threading's waits
# (Event, Condition, Queue, join). Blocking C calls made directly from plugin
# code, such as time.sleep, leave no frame of their own and cannot be told apart.
_IDLE_FUNCTIONS = frozenset(
    {
        (_source(selectors), "select"),
        (_source(threading), "wait"),
        (_source(threading), "_wait_for_tstate_lock"),
    }
)


def cpu_clock_of(ident: int) -> Callable[[], float]:
    """Return a function reading the CPU time of thread ``ident`` (a pthread id)."""
    getcpuclockid = getattr(time, "pthread_getcpuclockid", None)
    if getcpuclockid is None:
        raise ValueError(
            "clock='cpu' needs time.pthread_getcpuclockid, which this platform "
            "lacks; use clock='wall'"
        )
    return functools.partial(time.clock_gettime, getcpuclockid(ident))


class StackSampler:
    """Samples thread ``ident`` from a daemon thread until :meth:`stop`.

    Samples are kept for :meth:`samples` unless ``sink`` is given: then each one is
    handed to ``sink`` on the sampling thread and nothing is kept. With
    ``stacks=False`` samples carry only their plugin (and an empty stack).
    """

    def __init__(
        self,
        ident: int,
        interval: float,
        *,
        read_clock: Callable[[], float] = time.perf_counter,
        roots: PluginRoots | None = None,
        message_of: Callable[[], str | None] | None = None,
        sink: Callable[[Sample], None] | None = None,
        stacks: bool = True,
        thread_name: str = "logomesh-profiler",
    ) -> None:
        self.ident = ident
        self.interval = interval
        self.frames: list[Frame] = []
        self.started_at = 0.0
        self.stopped_at = 0.0
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._read_clock = read_clock
        self._roots = roots or PluginRoots()
        self._next_roots = self._roots
        self._message_of = message_of
        self._sink = sink
        self._keep_stacks = stacks
        self._frame_index: dict[Frame, int] = {}
        # id(code) -> (frame index, plugin id, is an idle wait, code). Keyed by id
        # because equal code objects from different files compare equal; holding
        # the code keeps its id from being reused.
        self._code_info: dict[int, tuple[int, str | None, bool, CodeType]] = {}
        self._stack_ids: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._stacks: list[tuple[int, ...]] = []
        self._plugins: list[str | None] = []
        self._messages: list[str | None] = []
        self._weights: list[float] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self) -> None:
        """Begin sampling."""
        self.started_at = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the sampling thread to finish."""
        self._stopping = True
        if self._thread.is_alive():
            self._thread.join()
        if not self.stopped_at:
            self.stopped_at = time.perf_counter()
        if self.error is not None:
            raise RuntimeError("the profiler's sampling thread failed") from self.error

    def set_roots(self, roots: PluginRoots) -> None:
        """Attribute samples to ``roots`` from the next sample on (safe while sampling)."""
        # Only the sampling thread swaps roots and forgets the plugins it learned per
        # code object, so an answer learned from the old roots cannot outlive the swap.
        self._next_roots = roots

    def samples(self) -> list[Sample]:
        """The samples taken so far (safe to call while sampling)."""
        count = len(self._weights)  # appended last, so the other lists are at least this long
        return [
            Sample(self._stacks[i], self._weights[i], self._plugins[i], self._messages[i])
            for i in range(count)
        ]

    def _intern(self, frame: Frame) -> int:
        index = self._frame_index.get(frame)
        if index is None:
            index = self._frame_index[frame] = len(self.frames)
            self.frames.append(frame)
        return index

    def _learn(self, code: CodeType) -> tuple[int, str | None, bool, CodeType]:
        filename = code.co_filename
        frame = Frame(code.co_qualname, filename, code.co_firstlineno)
        normalised = os.path.normcase(os.path.abspath(filename))
        info = (
            self._intern(frame),
            self._roots.plugin_of(filename),
            (normalised, code.co_name) in _IDLE_FUNCTIONS,
            code,
        )
        self._code_info[id(code)] = info
        return info

    def _run(self) -> None:
        try:
            self._sample_until_stopped()
        except BaseException as error:  # reported to the caller by stop()
            self.error = error
        finally:
            if not self.stopped_at:  # the loop failed: its time ends here
                self.stopped_at = time.perf_counter()
            self.finished.set()

    def _sample_until_stopped(self) -> None:
        # Locals rather than attribute look-ups: this loop runs ~1000 times a second
        # while holding the GIL the profiled code wants.
        ident = self.ident
        interval = self.interval
        current_frames = sys._current_frames
        read_clock = self._read_clock
        sleep = time.sleep
        wall = time.perf_counter
        info_of = self._code_info.get
        learn = self._learn
        stack_ids = self._stack_ids
        message_of = self._message_of
        sink = self._sink
        keep_stacks = self._keep_stacks
        code_info = self._code_info
        idle_index = self._intern(IDLE_FRAME)
        add_stack, add_plugin = self._stacks.append, self._plugins.append
        add_message, add_weight = self._messages.append, self._weights.append
        last = read_clock()
        # The recording covers what its samples cover: from this first reading to the
        # last sample. Thread start-up and the wait for stop() to be noticed (tens of ms
        # on a loaded machine) are not observed, so they are not part of its duration.
        self.started_at = last_wall = wall()
        # Aim at a fixed schedule rather than sleeping a full interval after each
        # sample: waiting for the GIL already used up part of the interval.
        due = wall() + interval
        while True:
            delay = due - wall()
            sleep(delay if delay > 0 else 0)
            due = max(due + interval, wall())
            if self._stopping:
                self.stopped_at = last_wall
                return  # don't sample the target inside stop(), joining this thread
            if self._next_roots is not self._roots:
                self._roots = self._next_roots
                code_info.clear()
            frame = current_frames().get(ident)
            if frame is None:
                self.stopped_at = last_wall
                return  # the target thread has ended
            try:
                now = read_clock()
            except OSError:
                self.stopped_at = last_wall
                return  # the target's CPU clock went away with the thread
            last_wall = wall()
            plugin = None
            key: tuple[int, ...] = ()
            code = frame.f_code
            info = top = info_of(id(code)) or learn(code)
            if keep_stacks:
                stack = []
                while True:
                    stack.append(info[0])
                    if plugin is None:
                        plugin = info[1]
                    frame = frame.f_back
                    if frame is None:
                        break
                    code = frame.f_code
                    info = info_of(id(code)) or learn(code)
                stack.reverse()
                if top[2]:
                    stack.append(idle_index)
                    plugin = None
                key = tuple(stack)
            elif not top[2]:
                # Reading f_back creates a frame object per frame (3.11+): stop at the
                # first plugin frame instead of walking, say, a deep recursion.
                plugin = top[1]
                while plugin is None:
                    frame = frame.f_back
                    if frame is None:
                        break
                    code = frame.f_code
                    plugin = (info_of(id(code)) or learn(code))[1]
            message = None
            if message_of is not None:
                try:
                    message = message_of()
                except Exception:  # a broken hook must not end the profile
                    message = None
            if sink is not None:
                sink(Sample(key, now - last, plugin, message))
            else:
                add_stack(stack_ids.setdefault(key, key))
                add_plugin(plugin)
                add_message(message)
                add_weight(now - last)
            last = now
