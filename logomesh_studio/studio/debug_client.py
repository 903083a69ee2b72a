"""DebugClient: the debugger pane's door into a debug session.

Sessions come from a DebugBackend: Studio's RuntimeClient (a DebugSession on the
runtime thread, or a DapSession for a plugin whose debugger runs behind a DAP server,
such as an isolated plugin's child). Session events arrive on another thread and
become Qt signals through a queued connection. Commands go straight to the session's
thread-safe debugger, never through the runtime loop (which is parked while stopped),
and inspection (variables, children, watches, evaluate) runs on a worker thread so a
slow ``__repr__`` never freezes the GUI. Breakpoints live here between sessions and
persist per workspace.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from logomesh_studio.devtools.debug_backend import AnySession, DebugBackend, RuntimeDebugBackend
from logomesh_studio.devtools.debug_session import (
    BreakpointsChanged,
    DebugEnded,
    DebugResumed,
    DebugStopped,
)
from logomesh_studio.devtools.debugger import TargetNotStopped
from logomesh_studio.devtools.workspace_breakpoints import (
    ANY_TYPE,
    MessageBreakpoint,
    SourceBreakpoint,
    WorkspaceBreakpoints,
    load_breakpoints,
    next_executable_line,
    save_breakpoints,
    validate_breakpoint,
)
from logomesh_studio.devtools.workspace_breakpoints import canonical_path as canonical

if TYPE_CHECKING:
    from logomesh_studio.runtime.runner import RuntimeThread

T = TypeVar("T")


class _InspectionWorker:
    """One daemon thread running inspections in order. Daemon, unlike an executor's
    workers: an evaluation stuck in user code must never keep the app from exiting."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False
        self._thread = threading.Thread(target=self._run, name="logomesh-debug-inspect",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, call, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call(*args))
                except BaseException as exc:  # handed to the GUI, which shows it
                    future.set_exception(exc)

    def submit(self, call: Callable[..., Any], *args: Any) -> concurrent.futures.Future | None:
        if self.closed:
            return None
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((future, call, args))
        return future

    def close(self) -> None:
        self.closed = True
        self._jobs.put(None)
RuntimeProvider = Callable[[], "RuntimeThread | None"]
_log = logging.getLogger(__name__)


class DebugClient(QObject):
    """Start and stop debug sessions, command and inspect them, keep the breakpoints."""

    sig_session_started = Signal(str)  # plugin id
    sig_stopped = Signal(object)  # DebugStopped
    sig_resumed = Signal()
    sig_session_ended = Signal(object)  # DebugEnded
    sig_breakpoints_changed = Signal(object)  # WorkspaceBreakpoints
    _sig_session_event = Signal(object)  # (session, event), emitted on any thread
    _sig_inspected = Signal(object)  # (generation, done, future), emitted on the worker

    def __init__(self, backend: DebugBackend | RuntimeProvider,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        # A bare runtime provider (tests, tools) is served in-process.
        self._backend: DebugBackend = (
            backend if isinstance(backend, DebugBackend) else RuntimeDebugBackend(backend))
        self._session: AnySession | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._stopped: DebugStopped | None = None
        self._source: dict[tuple[str, int], SourceBreakpoint] = {}
        self._messages: dict[tuple[str, str], MessageBreakpoint] = {}
        self._workspace: Path | None = None
        self._stop_on_raised = False
        self._generation = 0
        self._worker = _InspectionWorker()
        self._wire_signals()

    def _wire_signals(self) -> None:
        queued = Qt.ConnectionType.QueuedConnection
        self._sig_session_event.connect(self._on_session_event, queued)
        self._sig_inspected.connect(self._on_worker_inspected, queued)

    # state

    @property
    def session(self) -> AnySession | None:
        return self._session

    @property
    def active(self) -> bool:
        """True while a session traces the runtime thread."""
        return self._live() is not None

    def _live(self) -> AnySession | None:
        """The session while it traces the runtime thread."""
        return self._session if self._session is not None and self._session.active else None

    @property
    def stopped(self) -> DebugStopped | None:
        """The stop shown, while the runtime thread is parked at it."""
        return self._stopped

    @property
    def workspace(self) -> Path | None:
        return self._workspace

    # sessions

    def start(self, plugin_id: str, runtime: RuntimeThread | None = None) -> AnySession:
        """Debug ``plugin_id`` through the backend, or on ``runtime`` (a test's harness),
        ending any other session first.

        Returns at once: the runtime loop (or the DAP server) attaches the debugger when
        it gets to it, so a busy plugin never blocks the GUI. Raises RuntimeError
        without a running runtime, KeyError for an unknown plugin.
        """
        backend = self._backend if runtime is None else RuntimeDebugBackend(lambda: runtime)
        session = backend.open_debug_session(plugin_id)
        self.stop()
        self._drop_session()
        self.sync_workspace()
        self._session = session
        self._unsubscribe = session.subscribe(
            lambda event: self._sig_session_event.emit((session, event)))
        session.restore(self.breakpoints)
        session.debugger.pause_on_exceptions = "raised" if self._stop_on_raised else "never"
        try:
            session.start_soon()
        except RuntimeError:
            self._drop_session()
            raise
        self._take_breakpoints(session)
        self.sig_session_started.emit(plugin_id)
        return session

    def stop(self) -> None:
        """End the session without waiting: a stopped runtime resumes, and
        ``sig_session_ended`` follows once the runtime loop has stopped tracing."""
        session = self._session
        if session is None:
            return
        session.stop_soon()
        self._take_breakpoints(session)

    def close(self, timeout: float = 5.0) -> None:
        """End the session, waiting for the runtime loop up to ``timeout`` seconds, and
        the inspection worker (before the runtime itself is closed)."""
        session = self._session
        if session is not None:
            session.stop(timeout)
            self._take_breakpoints(session)
        self._drop_session()
        self._worker.close()

    def _drop_session(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = None
        self._session = None
        self._stopped = None
        self._generation += 1

    def _on_session_event(self, item: tuple[AnySession, object]) -> None:
        session, event = item
        if session is not self._session:
            return  # a late event of a session that was replaced
        if isinstance(event, DebugStopped):
            self._generation += 1
            self._stopped = event
            self.sig_stopped.emit(event)
        elif isinstance(event, DebugResumed):
            self._generation += 1
            self._stopped = None
            self.sig_resumed.emit()
        elif isinstance(event, DebugEnded):
            self._take_breakpoints(session)
            self._drop_session()
            self.sig_session_ended.emit(event)
        elif isinstance(event, BreakpointsChanged):
            self._take_breakpoints(session)

    # commands: straight to the debugger, which is safe from any thread

    def resume(self) -> None:
        self._command("resume")

    def step_over(self) -> None:
        self._command("step_over")

    def step_into(self) -> None:
        self._command("step_into")

    def step_out(self) -> None:
        self._command("step_out")

    def pause(self) -> None:
        if self._session is not None:
            self._session.debugger.pause()

    @property
    def stop_on_raised(self) -> bool:
        """Stop where an exception is raised in the debugged plugin (caught or not)."""
        return self._stop_on_raised

    def set_stop_on_raised(self, enabled: bool) -> None:
        self._stop_on_raised = enabled
        if (session := self._live()) is not None:
            session.debugger.pause_on_exceptions = "raised" if enabled else "never"

    def _command(self, name: str) -> None:
        if self._session is None:
            return
        with contextlib.suppress(TargetNotStopped):  # a double press races the target
            getattr(self._session.debugger, name)()

    # inspection, on the worker thread

    def inspect(self, call: Callable[[Any], T],
                done: Callable[[T | Exception], None]) -> None:
        """Run ``call(debugger)`` off the GUI thread (a Debugger, or a RemoteDebugger
        with the same ``variables``/``evaluate``); ``done(result or exception)`` runs
        on the GUI thread, unless the target moved on meanwhile (then it never runs)."""
        session = self._session
        if session is None:
            return
        generation = self._generation
        future = self._worker.submit(call, session.debugger)
        if future is not None:
            future.add_done_callback(lambda f: self._emit_inspected(generation, done, f))

    def _emit_inspected(self, generation: int, done: Callable[[Any], None],
                        future: concurrent.futures.Future) -> None:
        if not self._worker.closed:  # after close() the pane may already be deleted
            self._sig_inspected.emit((generation, done, future))

    def _on_worker_inspected(self, item: tuple[int, Callable[[Any], None], Any]) -> None:
        generation, done, future = item
        if generation != self._generation or future.cancelled():
            return
        try:
            result = future.result()
        except Exception as exc:  # handed to the caller, who shows it
            result = exc
        done(result)

    # breakpoints

    @property
    def breakpoints(self) -> WorkspaceBreakpoints:
        return WorkspaceBreakpoints(tuple(self._source.values()), tuple(self._messages.values()))

    def breakpoints_in(self, path: str) -> dict[int, SourceBreakpoint]:
        """The source breakpoints of one file, by line."""
        path = canonical(path) if path else ""
        return {bp.line: bp for bp in self._source.values() if bp.path == path}

    def sync_workspace(self) -> None:
        """Load the breakpoints of the runtime's workspace, if it changed."""
        workspace = self._backend.workspace
        if workspace is None or workspace == self._workspace or self.active:
            return
        self._workspace = workspace
        saved = load_breakpoints(workspace)
        self._source = {(bp.path, bp.line): bp for bp in saved.source}
        self._messages = {(bp.plugin_id, bp.type): bp for bp in saved.messages}
        self.sig_breakpoints_changed.emit(self.breakpoints)

    def toggle_breakpoint(self, path: str, line: int) -> SourceBreakpoint | None:
        """Add a breakpoint where a click on ``line`` lands, or remove the one there."""
        if (session := self._live()) is not None:
            placed = session.toggle_breakpoint(path, line)
            self._take_breakpoints(session)
            return placed
        path = canonical(path)
        landing = next_executable_line(path, line) or line
        for candidate in (line, landing):
            if (path, candidate) in self._source:
                del self._source[(path, candidate)]
                self._changed()
                return None
        return self.set_breakpoint(path, line)

    def set_breakpoint(self, path: str, line: int, **fields: Any) -> SourceBreakpoint:
        """Add or replace the breakpoint on ``line``; ``fields`` are SourceBreakpoint's
        condition, hit_condition, log_message and enabled. Raises ValueError when one
        does not parse."""
        if (session := self._live()) is not None:
            placed = session.set_breakpoint(path, line, **fields)
            self._take_breakpoints(session)
            return placed
        path = canonical(path)
        wanted = SourceBreakpoint(path, line, condition=fields.get("condition") or None,
                                  hit_condition=fields.get("hit_condition") or None,
                                  log_message=fields.get("log_message") or None,
                                  enabled=fields.get("enabled", True))
        validate_breakpoint(wanted)
        landing = next_executable_line(path, line)
        placed = replace(wanted, line=landing or line, verified=landing is not None)
        self._source.pop((path, line), None)
        self._source[(path, placed.line)] = placed
        self._changed()
        return placed

    def edit_breakpoint(self, path: str, line: int, **changes: Any) -> SourceBreakpoint:
        """Change fields of the breakpoint on ``line`` (adding one if there is none)."""
        current = self.breakpoints_in(path).get(line)
        fields: dict[str, Any] = {"condition": None, "hit_condition": None,
                                  "log_message": None, "enabled": True}
        if current is not None:
            fields.update(condition=current.condition, hit_condition=current.hit_condition,
                          log_message=current.log_message, enabled=current.enabled)
        fields.update(changes)
        return self.set_breakpoint(path, line, **fields)

    def remove_breakpoint(self, path: str, line: int) -> None:
        if (session := self._live()) is not None:
            session.remove_breakpoint(path, line)
            self._take_breakpoints(session)
            return
        if self._source.pop((canonical(path), line), None) is not None:
            self._changed()

    def set_message_breakpoint(self, plugin_id: str, type: str, enabled: bool = True) -> None:
        if (session := self._live()) is not None:
            session.set_message_breakpoint(plugin_id, type, enabled)
            self._take_breakpoints(session)
            return
        breakpoint = MessageBreakpoint(plugin_id, type or ANY_TYPE, enabled)
        self._messages[(breakpoint.plugin_id, breakpoint.type)] = breakpoint
        self._changed()

    def remove_message_breakpoint(self, plugin_id: str, type: str) -> None:
        if (session := self._live()) is not None:
            session.remove_message_breakpoint(plugin_id, type)
            self._take_breakpoints(session)
            return
        if self._messages.pop((plugin_id, type or ANY_TYPE), None) is not None:
            self._changed()

    def _take_breakpoints(self, session: AnySession) -> None:
        current = session.breakpoints
        self._source = {(bp.path, bp.line): bp for bp in current.source}
        self._messages = {(bp.plugin_id, bp.type): bp for bp in current.messages}
        self._changed()

    def _changed(self) -> None:
        if self._workspace is not None:
            try:
                save_breakpoints(self._workspace, self.breakpoints)
            except OSError as exc:
                _log.warning("could not save breakpoints in %s: %s", self._workspace, exc)
        self.sig_breakpoints_changed.emit(self.breakpoints)

    # what the runtime runs (never through its loop, which may be parked)

    def plugin_ids(self) -> list[str]:
        return self._backend.debuggable_plugins()

    def handled_types(self, plugin_id: str) -> list[str]:
        return self._backend.handled_types(plugin_id)

