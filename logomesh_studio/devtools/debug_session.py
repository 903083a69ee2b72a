"""Debug one plugin on the live runtime thread: breakpoints, message breakpoints, reloads.

The runtime thread runs every plugin, the bus, hot reload and orchestrations on one
asyncio loop; a session attaches the debugger to that thread with the plugin's folder
as the only root, so only that plugin's frames are ever stopped in or shown. While it
is stopped the whole loop waits (one thread); front ends inspect and command the
:class:`Debugger` directly, never through the loop. No Qt: front ends subscribe to
plain-data events (:data:`DebugEvent`), delivered on the runtime thread.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import inspect
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from logomesh_studio.devtools._tracing import canonical
from logomesh_studio.devtools.debug_target import DebugTarget, RuntimeTarget
from logomesh_studio.devtools.debugger import Debugger, Stop, TargetNotStopped
from logomesh_studio.devtools.workspace_breakpoints import (
    ANY_TYPE,
    MessageBreakpoint,
    SourceBreakpoint,
    WorkspaceBreakpoints,
    next_executable_line,
)
from logomesh_studio.runtime.events import Event, ReloadCompleted
from logomesh_studio.runtime.runner import RuntimeThread

__all__ = [
    "BreakpointsChanged",
    "DebugEnded",
    "DebugEvent",
    "DebugResumed",
    "DebugSession",
    "DebugStopped",
    "MessageHit",
    "SessionBase",
    "first_source_file",
]

_log = logging.getLogger(__name__)
# The session tracing each thread: a second one would replace its trace function.
_tracing_threads: dict[int, DebugSession] = {}
_tracing_lock = threading.Lock()


class SessionState(StrEnum):
    """idle (not started) -> running <-> stopped -> ended."""

    IDLE = "idle"
    RUNNING = "running"
    STOPPED = "stopped"
    ENDED = "ended"


# events, delivered on the runtime thread (or the thread that called start/stop)


@dataclass(frozen=True)
class MessageHit:
    """The delivery a message breakpoint stopped before."""

    source: str
    target: str
    type: str


@dataclass(frozen=True)
class DebugStopped:
    """The runtime thread stopped in the debugged plugin; ``message`` is set when a
    message breakpoint made it stop at the handler's first line."""

    stop: Stop
    message: MessageHit | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "debug_stopped",
            "stop": self.stop.to_json(),
            "message": asdict(self.message) if self.message else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DebugStopped:
        """The event :meth:`to_json` described (a DAP client gets it with each stop)."""
        message = data.get("message")
        return cls(Stop.from_json(data["stop"]), MessageHit(**message) if message else None)


@dataclass(frozen=True)
class DebugResumed:
    """The runtime thread runs again after a stop."""

    def to_json(self) -> dict[str, Any]:
        return {"event": "debug_resumed"}


@dataclass(frozen=True)
class DebugEnded:
    """The session is over: the runtime thread is no longer traced."""

    plugin_id: str
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"event": "debug_ended", "plugin_id": self.plugin_id, "error": self.error}


@dataclass(frozen=True)
class BreakpointsChanged:
    """Breakpoints were added, removed, edited or re-placed (after a hot reload)."""

    breakpoints: WorkspaceBreakpoints = field(default_factory=WorkspaceBreakpoints)

    def to_json(self) -> dict[str, Any]:
        return {"event": "breakpoints_changed", **self.breakpoints.to_json()}


DebugEvent = DebugStopped | DebugResumed | DebugEnded | BreakpointsChanged
DebugListener = Callable[[DebugEvent], None]


# the session


def first_source_file(root: Path) -> Path | None:
    """The first Python file of a plugin folder, tests left out (what to show first)."""
    candidates = sorted(
        path for path in root.rglob("*.py") if "tests" not in path.relative_to(root).parts
    )
    return candidates[0] if candidates else None


class SessionBase:
    """What every kind of debug session shares (this module's DebugSession, dap_session's
    DapSession): state, event listeners and the gutter's toggle; front ends rely on it."""

    _lock: threading.RLock
    _source: Mapping[tuple[str, int], object]
    debugger: Any

    def __init__(self) -> None:
        self._listeners: tuple[DebugListener, ...] = ()
        self._state = SessionState.IDLE
        self._stop: Stop | None = None

    @property
    def state(self) -> SessionState:
        """Where the session is: idle (not started), running, stopped or ended."""
        return self._state

    @property
    def active(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._state in (SessionState.RUNNING, SessionState.STOPPED)

    @property
    def current_stop(self) -> Stop | None:
        """The stop the target is parked at, if any."""
        return self._stop

    def subscribe(self, listener: DebugListener) -> Callable[[], None]:
        """Call ``listener(event)`` for each :data:`DebugEvent`; returns an unsubscribe.

        Events come on the target's thread (or a connection's reader thread): be quick,
        never wait for the target there.
        """
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(known for known in self._listeners if known is not listener)

        return unsubscribe

    def toggle_breakpoint(self, path: str | os.PathLike[str], line: int) -> SourceBreakpoint | None:
        """Remove the breakpoint a click on ``line`` would land on, else add one there."""
        path = canonical(path)
        landing = next_executable_line(path, line) if self.debugger.is_visible(path) else None
        with self._lock:
            existing = [n for n in (line, landing) if n is not None and (path, n) in self._source]
        if existing:
            self.remove_breakpoint(path, existing[0])
            return None
        return self.set_breakpoint(path, line)


    def set_breakpoint(self, path: str | os.PathLike[str], line: int,
                       condition: str | None = None, hit_condition: str | None = None,
                       log_message: str | None = None, enabled: bool = True
                       ) -> SourceBreakpoint:
        raise NotImplementedError

    def remove_breakpoint(self, path: str | os.PathLike[str], line: int) -> bool:
        raise NotImplementedError

    def _emit(self, event: DebugEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a front end's bug must not stop the target
                _log.exception("debug session listener %r failed on %s", listener, event)


class DebugSession(SessionBase):
    """Debug ``plugin_id`` on ``runtime``'s thread; :meth:`start`, then :meth:`stop`.

    ``runtime`` is the in-process RuntimeThread or any
    :class:`~logomesh_studio.devtools.debug_target.DebugTarget` (an isolated plugin's
    child runs one over its own loop).

    Breakpoints may be set before or during the session; they are re-placed by path
    and line after each hot reload of the plugin. Commands (resume, steps, pause) and
    inspection go to :attr:`debugger`, which is safe to call from any thread.
    """

    def __init__(self, runtime: RuntimeThread | DebugTarget, plugin_id: str) -> None:
        super().__init__()
        target = RuntimeTarget(runtime) if isinstance(runtime, RuntimeThread) else runtime
        self.plugin_id = plugin_id
        self.root = Path(target.plugin_folder(plugin_id))
        self.debugger = Debugger(roots=[self.root])
        self._target = target
        self._lock = threading.RLock()
        self._source: dict[tuple[str, int], tuple[SourceBreakpoint, int | None]] = {}
        self._messages: dict[tuple[str, str], MessageBreakpoint] = {}
        # What the delivery hook reads on the runtime thread: replaced, never mutated.
        self._armed_messages: tuple[MessageBreakpoint, ...] = ()
        self._closing = False
        self._pending_message: MessageHit | None = None
        self._cleanups: list[Callable[[], None]] = []
        self._unhook: Callable[[], None] | None = None

    def entry_file(self) -> Path | None:
        """The file the plugin's class is defined in, else its first Python file."""
        instance = self._target.instance(self.plugin_id)
        with contextlib.suppress(TypeError, OSError):
            if instance is not None:
                found = inspect.getsourcefile(type(instance))
                if found and self.debugger.is_visible(found):
                    return Path(found)
        return first_source_file(self.root)

    # lifecycle

    def start(self, timeout: float = 10.0) -> None:
        """Attach the debugger to the runtime thread and hook message deliveries; blocks
        until the runtime loop has done so (raises TimeoutError if it is busy that long)."""
        attached = self.start_soon()
        try:
            attached.result(timeout)
        except concurrent.futures.TimeoutError:
            if attached.cancel():  # never ran: nothing to undo
                self._end("the runtime thread did not respond")
                raise TimeoutError(f"the runtime did not attach {self.plugin_id}'s debugger "
                                   f"within {timeout} s (is a plugin busy?)") from None
        except BaseException:
            self._end("the debugger could not attach")
            raise

    def start_soon(self) -> concurrent.futures.Future[None]:
        """Like :meth:`start`, without waiting: the attach runs when the runtime loop
        gets to it (a failure ends the session with :class:`DebugEnded`)."""
        with self._lock:
            if self._state != SessionState.IDLE:
                raise RuntimeError(f"the debug session of {self.plugin_id} was already started")
            self._state = SessionState.RUNNING
        self._cleanups.append(self.debugger.add_stop_listener(self._on_debugger_stop))
        self._cleanups.append(self._target.subscribe(self._on_runtime_event))
        try:
            attached = self._target.submit(self._attach())
        except RuntimeError as exc:  # the loop is closed
            self._end(f"the runtime is not running: {exc}")
            raise
        attached.add_done_callback(self._on_attached)
        return attached

    def stop(self, timeout: float = 10.0) -> None:
        """Resume a stopped runtime, stop tracing it and unhook; safe to call twice.

        Messages, reloads and orchestrations run on as before the session. Waits up to
        ``timeout`` seconds for the runtime loop (busy plugin code delays it); the
        session counts as ended either way.
        """
        detached = self.stop_soon()
        error = ""
        try:
            detached.result(timeout)
        except concurrent.futures.TimeoutError:
            error = f"the runtime thread did not detach within {timeout} s"
        except (RuntimeError, concurrent.futures.CancelledError) as exc:
            error = f"could not detach from the runtime thread: {exc or type(exc).__name__}"
        if error:
            _log.warning("debug session of %s: %s", self.plugin_id, error)
        self._end(error)

    def stop_soon(self) -> concurrent.futures.Future[None]:
        """Like :meth:`stop`, without waiting; :class:`DebugEnded` follows once the
        runtime loop has detached the debugger."""
        with self._lock:
            if self._state == SessionState.ENDED or self._closing:
                return self._done_future()
            self._closing = True
            never_started = self._state == SessionState.IDLE
        if never_started:
            self._end()
            return self._done_future()
        self.debugger.pause_on_exceptions = "never"
        for _, engine_id in list(self._source.values()):
            if engine_id is not None:
                with contextlib.suppress(KeyError):
                    self.debugger.remove_breakpoint(engine_id)
        # A stop that arrives from now on is resumed by _on_debugger_stop itself.
        with contextlib.suppress(TargetNotStopped):
            self.debugger.resume()
        if not self._target.alive():
            self._end("the runtime thread is gone")
            return self._done_future()
        try:
            detached = self._target.submit(self._detach())
        except RuntimeError as exc:  # the loop is closed
            self._end(f"the runtime is not running: {exc}")
            return self._done_future()
        detached.add_done_callback(self._on_detached)
        return detached

    @staticmethod
    def _done_future() -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return future

    def _on_attached(self, attached: concurrent.futures.Future[None]) -> None:
        if attached.cancelled():
            return
        error = attached.exception()
        if error is not None:
            _log.warning("debug session of %s could not attach: %s", self.plugin_id, error)
            self._end(f"the debugger could not attach: {error}")

    def _on_detached(self, detached: concurrent.futures.Future[None]) -> None:
        error = None if detached.cancelled() else detached.exception()
        self._end(f"could not detach from the runtime thread: {error}" if error else "")

    async def _attach(self) -> None:
        # On the runtime thread: settrace applies to the calling thread only.
        thread = threading.get_ident()
        with _tracing_lock:
            other = _tracing_threads.get(thread)
            if other is not None and other is not self and other.active:
                raise RuntimeError(f"{other.plugin_id} is being debugged on this runtime "
                                   "already (in Studio or by a DAP client): stop that "
                                   "session first")
            _tracing_threads[thread] = self
        self.debugger.attach()
        self._unhook = self._target.add_delivery_hook(self._on_delivery)

    async def _detach(self) -> None:
        unhook, self._unhook = self._unhook, None
        if unhook is not None:
            unhook()
        with _tracing_lock:
            if _tracing_threads.get(threading.get_ident()) is self:
                del _tracing_threads[threading.get_ident()]
        self.debugger.detach()

    def _end(self, error: str = "") -> None:
        # Once only, whichever comes first: stop() returning or the detach completing.
        with self._lock:
            if self._state == SessionState.ENDED:
                return
            self._state = SessionState.ENDED
            self._stop = None
            cleanups, self._cleanups = self._cleanups, []
        for cleanup in cleanups:
            cleanup()
        self._emit(DebugEnded(self.plugin_id, error))

    # breakpoints

    @property
    def breakpoints(self) -> WorkspaceBreakpoints:
        """Every breakpoint this session holds, source ones in the order they were set."""
        with self._lock:
            return WorkspaceBreakpoints(
                source=tuple(bp for bp, _ in self._source.values()),
                messages=tuple(self._messages.values()),
            )

    def restore(self, breakpoints: WorkspaceBreakpoints) -> None:
        """Set every breakpoint of ``breakpoints`` (e.g. those loaded for the workspace).

        One that no longer parses (a condition edited by hand) is logged and skipped.
        """
        with self._lock:
            for bp in breakpoints.source:
                try:
                    self._place(bp)
                except ValueError as exc:
                    _log.warning("%s:%s: breakpoint skipped: %s", bp.path, bp.line, exc)
            for message in breakpoints.messages:
                self._messages[(message.plugin_id, message.type)] = message
            self._armed_messages = tuple(self._messages.values())
        self._changed()

    def set_breakpoint(
        self,
        path: str | os.PathLike[str],
        line: int,
        condition: str | None = None,
        hit_condition: str | None = None,
        log_message: str | None = None,
        enabled: bool = True,
    ) -> SourceBreakpoint:
        """Add a breakpoint, or replace the one on the line it lands on.

        Raises ValueError for a condition, hit condition or log message that does not parse.
        """
        wanted = SourceBreakpoint(
            canonical(path), line, condition or None, hit_condition or None,
            log_message or None, enabled,
        )
        with self._lock:
            placed = self._place(wanted)
        self._changed()
        return placed

    def remove_breakpoint(self, path: str | os.PathLike[str], line: int) -> bool:
        """Remove the breakpoint on ``line`` of ``path``; False if there is none."""
        with self._lock:
            entry = self._source.pop((canonical(path), line), None)
            if entry is None:
                return False
            self._forget(entry[1])
        self._changed()
        return True

    def set_message_breakpoint(
        self, plugin_id: str, type: str, enabled: bool = True
    ) -> MessageBreakpoint:
        """Stop before ``plugin_id``'s handler for ``type`` (``"*"``: any) runs.

        Only the debugged plugin's handlers can be stopped in; for other plugins the
        breakpoint is kept (it applies when that plugin is debugged) but never stops.
        """
        breakpoint = MessageBreakpoint(plugin_id, type or ANY_TYPE, enabled)
        with self._lock:
            self._messages[(breakpoint.plugin_id, breakpoint.type)] = breakpoint
            self._armed_messages = tuple(self._messages.values())
        self._changed()
        return breakpoint

    def remove_message_breakpoint(self, plugin_id: str, type: str) -> bool:
        """Remove a message breakpoint; False if there is none."""
        with self._lock:
            found = self._messages.pop((plugin_id, type or ANY_TYPE), None)
            self._armed_messages = tuple(self._messages.values())
        if found is not None:
            self._changed()
        return found is not None

    def _place(self, wanted: SourceBreakpoint) -> SourceBreakpoint:
        # Caller holds the lock. Disabled breakpoints never reach the engine.
        engine_id: int | None = None
        if wanted.enabled and not self._closing:
            engine = self.debugger.set_breakpoint(
                wanted.path, wanted.line, wanted.condition, wanted.hit_condition,
                wanted.log_message,
            )
            engine_id = engine.id
            placed = replace(wanted, line=engine.line, verified=engine.verified)
        else:
            landing = (
                next_executable_line(wanted.path, wanted.line)
                if self.debugger.is_visible(wanted.path) else None
            )
            placed = replace(wanted, line=landing or wanted.line, verified=landing is not None)
        for key in {(wanted.path, wanted.line), (placed.path, placed.line)}:
            previous = self._source.pop(key, None)
            if previous is not None:
                self._forget(previous[1])
        self._source[(placed.path, placed.line)] = (placed, engine_id)
        return placed

    def _forget(self, engine_id: int | None) -> None:
        if engine_id is not None:
            with contextlib.suppress(KeyError):
                self.debugger.remove_breakpoint(engine_id)

    def _reapply(self) -> None:
        # After a hot reload the file may have changed: place each breakpoint anew by
        # path and line, so it binds to the new code objects at an executable line.
        with self._lock:
            entries = list(self._source.values())
            for _, engine_id in entries:
                self._forget(engine_id)
            self._source.clear()
            for bp, _ in entries:
                try:
                    self._place(bp)
                except ValueError as exc:
                    _log.warning(
                        "%s:%s: breakpoint dropped after reload: %s", bp.path, bp.line, exc
                    )
        self._changed()

    def _changed(self) -> None:
        self._emit(BreakpointsChanged(self.breakpoints))

    # runtime thread

    def _on_delivery(self, source: str, target: str, type: str) -> None:
        # Called right before a handler runs. Pausing now stops at the next line of
        # visible code, which is the handler's first line, if the handler is visible.
        armed = self._armed_messages
        if self._closing or not armed:
            return
        if not any(mb.matches(target, type) for mb in armed):
            return
        if not self._handler_is_visible(target, type):
            return
        self._pending_message = MessageHit(source, target, type)
        self.debugger.pause()

    def _handler_is_visible(self, target: str, type: str) -> bool:
        instance = self._target.instance(target)
        if instance is None:
            return False
        method = instance.handler_for(type)
        if method is None and type == "execute":
            method = instance.execute
        if method is None:
            return False
        function = inspect.unwrap(getattr(method, "__func__", method))
        code = getattr(function, "__code__", None)
        return code is not None and self.debugger.is_visible(code.co_filename)

    def _on_debugger_stop(self, stop: Stop | None) -> None:
        if stop is None:
            with self._lock:
                was_stopped = self._state == SessionState.STOPPED
                if was_stopped:
                    self._state, self._stop = SessionState.RUNNING, None
            if was_stopped:
                self._emit(DebugResumed())
            return
        message, self._pending_message = self._pending_message, None
        if self._closing:
            with contextlib.suppress(TargetNotStopped):
                self.debugger.resume()
            return
        with self._lock:
            self._state, self._stop = SessionState.STOPPED, stop
        self._emit(DebugStopped(stop, message if stop.reason == "pause" else None))

    def _on_runtime_event(self, event: Event) -> None:
        if (isinstance(event, ReloadCompleted) and event.plugin_id == self.plugin_id
                and not self._closing):
            self._reapply()


