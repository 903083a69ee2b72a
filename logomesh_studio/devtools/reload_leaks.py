"""Old plugin versions that outlive a hot reload, and what keeps them alive.

When a reload starts, weak references to the old instance and its class are taken.
Once the reload is done and a grace period passed, a garbage collection runs; whatever
is still alive is leaked, and the garbage collector's referrers name the holder: the
chain from the leaked object to the first thing that is not garbage of the old version
(a thread, a module global, a closure another plugin keeps), shortened to its steps.
"""

from __future__ import annotations

import gc
import inspect
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._model import Frame

__all__ = ["Leak", "ReloadLeakTracker"]

MAX_STEPS = 4
"""Referrer hops followed from a leaked object towards what holds it."""


@dataclass(frozen=True, slots=True)
class Leak:
    """The old version of ``plugin`` still alive ``seconds`` after its reload."""

    plugin: str
    what: str
    """``instance of Counter`` or ``class Counter``."""
    held_by: tuple[str, ...]
    """The chain of holders, nearest first, each shortened to a phrase."""
    location: Frame | None
    """Where the holder was created (a function's or thread target's definition)."""
    created: Frame | None
    """Where the leaked object's class is defined."""
    seconds: float


@dataclass(slots=True)
class _Watched:
    plugin: str
    instance: weakref.ref[Any]
    cls: weakref.ref[Any]
    done: float = 0.0


class ReloadLeakTracker:
    """Follows reloads: :meth:`started` with the old instance, :meth:`completed` when the
    new version runs, :meth:`leaks` once ``grace`` seconds passed."""

    def __init__(self, grace: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace = grace
        self._clock = clock
        self._watched: list[_Watched] = []
        self._found: dict[str, Leak] = {}

    def started(self, plugin: str, instance: object) -> None:
        """A reload of ``plugin`` began; ``instance`` is the old version."""
        self._watched.append(_Watched(plugin, weakref.ref(instance), weakref.ref(type(instance))))

    def completed(self, plugin: str) -> None:
        """The reload of ``plugin`` finished (or failed): its old version should go."""
        for watched in self._watched:
            if watched.plugin == plugin and not watched.done:
                watched.done = self._clock()

    def failed(self, plugin: str) -> None:
        """The reload failed: the old version keeps running, nothing to look for."""
        self._watched = [w for w in self._watched if w.plugin != plugin or w.done]

    @property
    def pending(self) -> bool:
        return any(w.done for w in self._watched)

    def leaks(self, live: Iterable[object] = ()) -> list[Leak]:
        """Old versions still alive past the grace period (a gc runs first, only when
        some are due). ``live`` are the running instances, which are not leaks."""
        now = self._clock()
        due = [w for w in self._watched if w.done and now - w.done >= self.grace]
        if due:
            gc.collect()
            running = {id(obj) for obj in live}
            for watched in due:
                self._watched.remove(watched)
                leak = _inspect(watched, now, running)
                if leak is not None:
                    self._found[watched.plugin] = leak
        return list(self._found.values())

    def forget(self, plugin: str) -> None:
        """Drop what was found about ``plugin`` (it was fixed and reloaded again)."""
        self._found.pop(plugin, None)


def _inspect(watched: _Watched, now: float, running: set[int]) -> Leak | None:
    instance, cls = watched.instance(), watched.cls()
    if instance is not None and id(instance) not in running:
        target: object = instance
        what = f"the old {type(instance).__name__} instance"
    elif cls is not None and not _class_is_live(cls, running):
        target, what = cls, f"the old class {cls.__qualname__}"
    else:
        return None
    steps, location = _holders(target)
    created = None
    if isinstance(cls, type):
        created = _definition(cls)
    return Leak(plugin=watched.plugin, what=what, held_by=tuple(steps), location=location,
                created=created, seconds=now - watched.done)


def _class_is_live(cls: type, running: set[int]) -> bool:
    """A class is still the running one when a running instance has it (nothing reloaded
    its module, say the reload failed and was retried)."""
    return any(id(obj) in running for obj in gc.get_referrers(cls)
               if isinstance(obj, cls))


def _definition(obj: Any) -> Frame | None:
    try:
        file = inspect.getsourcefile(obj)
        _, line = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return None
    return Frame(getattr(obj, "__qualname__", repr(obj)), file, line) if file else None


def _holders(target: object) -> tuple[list[str], Frame | None]:
    """Walk referrers from ``target`` to what holds it: the phrases and a location."""
    steps: list[str] = []
    location: Frame | None = None
    ignore = {id(sys._getframe())}
    current = target
    for _ in range(MAX_STEPS):
        ignore.add(id(current))
        referrers = [r for r in gc.get_referrers(current)
                     if id(r) not in ignore and not _is_bookkeeping(r)]
        ignore.update(id(r) for r in referrers)
        if not referrers:
            break
        holder = min(referrers, key=_rank)
        phrase, where, root = _describe(holder, current)
        steps.append(phrase)
        if isinstance(holder, threading.Thread | types.FrameType) and where is not None:
            location = where  # where the code keeping it alive runs now says the most
        location = location or where
        if root:
            break
        current = holder
    del referrers
    return steps, location


def _is_bookkeeping(obj: object) -> bool:
    """Referrers that are the tracker's own, or the gc's transient lists."""
    if isinstance(obj, types.FrameType):
        return obj.f_code.co_filename == __file__
    return isinstance(obj, _Watched | weakref.ref)


def _rank(obj: object) -> int:
    """Prefer the referrers that explain the most: threads, cells, frames, methods."""
    if isinstance(obj, threading.Thread):
        return 0
    if isinstance(obj, types.CellType | types.FrameType):
        return 1
    if isinstance(obj, types.MethodType | types.FunctionType):
        return 2
    if isinstance(obj, dict):
        return 3
    return 4


def _describe(holder: object, held: object) -> tuple[str, Frame | None, bool]:
    """A phrase for ``holder`` holding ``held``, where it was made, and whether it is a
    root (nothing further up explains more)."""
    if isinstance(holder, threading.Thread):
        target = getattr(holder, "_target", None)
        now = _running_in(holder, target)
        if now is not None:
            return (f"thread {holder.name!r} (running {now.name}() at line {now.line})", now,
                    True)
        return f"thread {holder.name!r}", _code_frame(target), True
    if isinstance(holder, types.FrameType):
        code = holder.f_code
        return (f"a running frame of {code.co_qualname}()",
                Frame(code.co_qualname, code.co_filename, holder.f_lineno), True)
    if isinstance(holder, types.CellType):
        owner = next((f for f in gc.get_referrers(holder) if isinstance(f, tuple)), None)
        function = next((f for f in gc.get_referrers(owner) if isinstance(f, types.FunctionType)),
                        None) if owner is not None else None
        if function is not None:
            return (f"a closure {function.__qualname__}()", _code_frame(function), False)
        return ("a closure cell", None, False)
    if isinstance(holder, types.MethodType):
        return (f"the bound method {holder.__func__.__qualname__}", _code_frame(holder), False)
    if isinstance(holder, types.FunctionType):
        return (f"the function {holder.__qualname__}", _code_frame(holder), False)
    if isinstance(holder, dict):
        key = next((k for k, v in holder.items() if v is held), None)
        module = next((m for m in list(sys.modules.values())
                       if getattr(m, "__dict__", None) is holder), None)
        if module is not None:
            return (f"the global {key} of module {module.__name__}",
                    Frame(str(key), getattr(module, "__file__", None), None), True)
        return (f"a dict (key {key!r})" if key is not None else "a dict", None, False)
    if isinstance(holder, list | tuple | set):
        return (f"a {type(holder).__name__} of {len(holder)}", None, False)
    return (f"a {type(holder).__name__} object", None, False)


def _running_in(thread: threading.Thread, target: Any) -> Frame | None:
    """The innermost frame of ``thread`` in the file of its ``target`` function."""
    start = _code_frame(target)
    frame = sys._current_frames().get(thread.ident or -1)
    while start is not None and frame is not None:
        code = frame.f_code
        if code.co_filename == start.file:
            return Frame(code.co_qualname, code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


def _code_frame(obj: Any) -> Frame | None:
    func = getattr(obj, "__func__", obj)
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    return Frame(code.co_qualname, code.co_filename, code.co_firstlineno)
