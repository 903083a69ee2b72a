"""A Debug Adapter Protocol server for one plugin at a time: VS Code or Studio attach to it.

A client connects over TCP and sends ``initialize`` then ``attach`` (with
``"plugin": "<id>"`` unless the target runs a single plugin); the server starts a
:class:`DebugSession` on that plugin and drives its :class:`Debugger` from the
connection's control thread, never through the runtime loop (which is parked while
the target is stopped). One client at a time; when it leaves (``disconnect``, or the
socket closes) the runtime resumes untraced and the server waits for the next one.

The server needs only a :class:`~logomesh_studio.devtools.debug_target.DebugTarget`,
so it runs the same in Studio's runtime, under ``logomesh-studio run --dap PORT``,
and inside an isolated plugin's child process::

    server = DapServer(RuntimeTarget(runtime), port=0)   # or the child's own DebugTarget
    host, port = server.start()                          # listening; serves in a thread
    ...
    server.close()                                       # ends a session, stops serving

Supported: initialize, attach, setBreakpoints (conditions, hit counts, log messages),
setFunctionBreakpoints (a message type of the plugin: stop before its handler runs),
setExceptionBreakpoints (``raised``), configurationDone, threads, stackTrace, scopes,
variables (expandable children), evaluate, continue, next, stepIn, stepOut, pause,
exceptionInfo, disconnect (breakpoints carry ids; a stop names the one hit); events
initialized, stopped, continued (resumed by another party), output (the plugin's log
and log points), terminated (the session ended without the client: the plugin
stopped, or the runtime went away).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import socket
import threading
from collections.abc import Callable
from typing import Any, Final

from logomesh_studio.devtools import inspection
from logomesh_studio.devtools._tracing import canonical as canonical_path
from logomesh_studio.devtools.dap_wire import DapProtocolError, encode_message, read_message
from logomesh_studio.devtools.debug_session import (
    DebugEnded,
    DebugEvent,
    DebugResumed,
    DebugSession,
    DebugStopped,
)
from logomesh_studio.devtools.debug_target import DebugTarget
from logomesh_studio.devtools.debugger import EvaluationError, TargetNotStopped
from logomesh_studio.devtools.workspace_breakpoints import ANY_TYPE
from logomesh_studio.runtime.events import Event, LogRecorded, PluginStopped

__all__ = ["CAPABILITIES", "THREAD_ID", "DapError", "DapServer"]

_log = logging.getLogger(__name__)

THREAD_ID = 1
"""The one thread a session shows: the loop that runs the plugin."""
ATTACH_TIMEOUT = 10.0
"""Seconds ``attach`` waits for the runtime loop to start tracing."""
RAISED: Final = "raised"
NEVER: Final = "never"

CAPABILITIES: dict[str, Any] = {
    "supportsConfigurationDoneRequest": True,
    "supportsConditionalBreakpoints": True,
    "supportsHitConditionalBreakpoints": True,
    "supportsLogPoints": True,
    "supportsFunctionBreakpoints": True,
    "supportsEvaluateForHovers": True,
    "supportsExceptionInfoRequest": True,
    "supportTerminateDebuggee": False,
    "exceptionBreakpointFilters": [{
        "filter": RAISED, "label": "Raised exceptions", "default": False,
        "description": "Stop where an exception is raised in the plugin, caught or not",
    }],
}
"""What ``initialize`` answers: the protocol features this adapter implements."""


class DapError(Exception):
    """A request that cannot be done; its message is the error response's text."""


class DapServer:
    """Listens on ``host:port`` (0: any free port) and serves one DAP client at a time.

    ``plugin_id``, if given, is the plugin every ``attach`` debugs (an isolated
    plugin's child); otherwise ``attach`` names it, or the target's only plugin is used.
    """

    def __init__(self, target: DebugTarget, host: str = "127.0.0.1", port: int = 0,
                 plugin_id: str | None = None) -> None:
        self.target = target
        self.plugin_id = plugin_id
        self._bind = (host, port)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._connection: _Connection | None = None
        self._closed = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the server listens on (after :meth:`start`)."""
        if self._listener is None:
            raise RuntimeError("the DAP server has not started")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def start(self, listener: socket.socket | None = None) -> tuple[str, int]:
        """Listen and serve in a daemon thread; returns the address (OSError if taken).
        ``listener``: a listening socket opened beforehand (an isolated plugin's process
        opens it before its sandbox forbids new sockets)."""
        if listener is None:
            listener = socket.create_server(self._bind)
        self._listener = listener
        self._thread = threading.Thread(target=self._serve, name="logomesh-dap", daemon=True)
        self._thread.start()
        return self.address

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving: a client's session ends (the runtime resumes) and it is dropped."""
        self._closed.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
            listener.close()
        connection = self._connection
        if connection is not None:
            connection.drop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _serve(self) -> None:
        listener = self._listener
        while listener is not None and not self._closed.is_set():
            try:
                sock, peer = listener.accept()
            except OSError:
                break
            _log.info("DAP client connected from %s", peer)
            connection = _Connection(self.target, sock, self.plugin_id)
            self._connection = connection
            try:
                connection.run()
            finally:
                self._connection = None
                _log.info("DAP client %s left", peer)


class _Connection:
    """One client: requests are read and answered on the server thread; events and
    responses go out through a writer thread, so the runtime thread never blocks on
    the socket."""

    def __init__(self, target: DebugTarget, sock: socket.socket, plugin_id: str | None) -> None:
        self.target = target
        self.sock = sock
        self.default_plugin = plugin_id
        self.session: DebugSession | None = None
        self._out: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name="logomesh-dap-writer",
                                        daemon=True)
        self._lock = threading.Lock()
        self._refs: dict[int, tuple[int, str | None]] = {}
        self._ref_ids = itertools.count(1)
        self._cleanups: list[Callable[[], None]] = []
        self._resume_requested = False
        self._leaving = False
        self._after: list[Callable[[], None]] = []
        # Wanted before attach (or kept for the next): file -> breakpoints, message types.
        self._source_wanted: dict[str, list[dict[str, Any]]] = {}
        self._messages_wanted: list[str] = []
        self._raised = False
        # The ids breakpoints are known by to the client: one per file and line it hits.
        self._breakpoint_ids: dict[tuple[str, int], int] = {}
        self._breakpoint_numbers = itertools.count(1)
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
            "initialize": self._initialize, "attach": self._attach, "launch": self._launch,
            "setBreakpoints": self._set_breakpoints,
            "setFunctionBreakpoints": self._set_function_breakpoints,
            "setExceptionBreakpoints": self._set_exception_breakpoints,
            "configurationDone": lambda args: None, "threads": self._threads,
            "stackTrace": self._stack_trace, "scopes": self._scopes,
            "variables": self._variables, "evaluate": self._evaluate,
            "continue": self._continue, "next": self._next, "stepIn": self._step_in,
            "stepOut": self._step_out, "pause": self._pause, "disconnect": self._disconnect,
            "exceptionInfo": self._exception_info,
        }

    # -- the connection ---------------------------------------------------------------------

    def run(self) -> None:
        self._writer.start()
        stream = self.sock.makefile("rb")
        try:
            while not self._leaving:
                message = read_message(stream)
                if message is None:
                    break
                if message.get("type") == "request":
                    self._dispatch(message)
        except (OSError, DapProtocolError) as exc:
            _log.warning("DAP connection closed: %s", exc)
        finally:
            self._end_session()
            self._out.put(None)
            self._writer.join(10.0)
            stream.close()
            self.sock.close()

    def drop(self) -> None:
        """End the connection from another thread (the server is closing)."""
        self._leaving = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def _write(self) -> None:
        seq = itertools.count(1)
        while (message := self._out.get()) is not None:
            message["seq"] = next(seq)
            try:
                self.sock.sendall(encode_message(message))
            except OSError:
                return

    def _event(self, event: str, body: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"type": "event", "event": event}
        if body is not None:
            message["body"] = body
        self._out.put(message)

    def _dispatch(self, request: dict[str, Any]) -> None:
        command = str(request.get("command", ""))
        response: dict[str, Any] = {"type": "response", "request_seq": request.get("seq", 0),
                                    "command": command, "success": True}
        handler = self._handlers.get(command)
        try:
            if handler is None:
                raise DapError(f"{command!r} is not supported by LogoMesh's debug adapter")
            arguments = request.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise DapError("arguments must be an object")
            body = handler(arguments)
        except (DapError, EvaluationError, TargetNotStopped, ValueError, KeyError) as exc:
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            response.update(success=False, message=text,
                            body={"error": {"id": 1, "format": text, "showUser": True}})
        except Exception as exc:  # a bug here must not end the connection or the runtime
            _log.exception("DAP request %s failed", command)
            response.update(success=False, message=f"{type(exc).__name__}: {exc}")
        else:
            if body is not None:
                response["body"] = body
        self._out.put(response)
        after, self._after = self._after, []
        for action in after:
            action()

    # -- session ----------------------------------------------------------------------------

    def _initialize(self, args: dict[str, Any]) -> dict[str, Any]:
        self._after.append(lambda: self._event("initialized"))
        return dict(CAPABILITIES)

    def _launch(self, args: dict[str, Any]) -> None:
        raise DapError('LogoMesh\'s adapter debugs a running runtime: use "request": "attach" '
                       'with "connect": {"host", "port"}')

    def _attach(self, args: dict[str, Any]) -> None:
        if self.session is not None:
            raise DapError(f"already attached to {self.session.plugin_id}")
        plugin_id = self._plugin_to_debug(args.get("plugin"))
        session = DebugSession(self.target, plugin_id)
        self._cleanups.append(session.subscribe(self._on_session_event))
        self._cleanups.append(session.debugger.add_log_listener(
            lambda text: self._event("output", {"category": "console", "output": text + "\n"})))
        self._cleanups.append(self.target.subscribe(self._on_runtime_event))
        session.debugger.pause_on_exceptions = RAISED if self._raised else NEVER
        self.session = session
        for path, wanted in self._source_wanted.items():
            self._place(path, wanted)
        self._place_messages(self._messages_wanted)
        try:
            session.start(ATTACH_TIMEOUT)
        except (TimeoutError, RuntimeError) as exc:
            self._end_session()
            raise DapError(f"could not attach to {plugin_id}: {exc}") from None

    def _plugin_to_debug(self, wanted: Any) -> str:
        if self.default_plugin is not None:
            if wanted not in (None, "", self.default_plugin):
                raise DapError(f"this adapter debugs {self.default_plugin}, not {wanted}")
            return self.default_plugin
        known = self.target.plugin_ids()
        if wanted in (None, "") and len(known) == 1:
            return known[0]
        if wanted in (None, ""):
            raise DapError('attach needs "plugin": one of ' + ", ".join(known))
        if wanted not in known:
            raise DapError(f"no plugin {wanted!r} in this runtime (it has: {', '.join(known)})")
        return str(wanted)

    def _disconnect(self, args: dict[str, Any]) -> None:
        self._end_session()
        self._leaving = True

    def _end_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.stop()
        cleanups, self._cleanups = self._cleanups, []
        for cleanup in cleanups:
            cleanup()
        self._forget_refs()

    def _require_session(self) -> DebugSession:
        if self.session is None:
            raise DapError("not attached: send attach first")
        return self.session

    def _on_session_event(self, event: DebugEvent) -> None:
        # On the runtime thread: only queue.
        if isinstance(event, DebugStopped):
            self._forget_refs()
            self._resume_requested = False
            body = _stopped_body(event)
            stop = event.stop
            if stop.reason == "breakpoint" and stop.frames:  # the line breakpoint it hit
                top = stop.frames[0]
                number = self._breakpoint_ids.get((canonical_path(top.path), top.line))
                if number is not None:
                    body["hitBreakpointIds"] = [number]
            self._event("stopped", body)
        elif isinstance(event, DebugResumed):
            self._forget_refs()
            if not self._resume_requested:  # resumed by someone else (Studio, a detach)
                self._event("continued", {"threadId": THREAD_ID, "allThreadsContinued": True})
            self._resume_requested = False
        elif isinstance(event, DebugEnded) and self.session is not None:
            self._event("terminated")

    def _on_runtime_event(self, event: Event) -> None:
        session = self.session
        if session is None or getattr(event, "plugin_id", None) != session.plugin_id:
            return
        if type(event) is LogRecorded:
            text = f"{event.level} {event.message}\n" + (
                event.traceback + "\n" if event.traceback else "")
            self._event("output", {"category": "stdout", "output": text})
        elif type(event) is PluginStopped:  # the session ends: the client hears "terminated"
            session.stop_soon()

    # -- breakpoints ------------------------------------------------------------------------

    def _set_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        path = (args.get("source") or {}).get("path")
        if not isinstance(path, str) or not path:
            raise DapError("setBreakpoints needs source.path")
        wanted = [bp for bp in args.get("breakpoints") or [] if isinstance(bp, dict)]
        self._source_wanted[path] = wanted
        if self.session is None:
            return {"breakpoints": [{"verified": False, "line": bp.get("line"),
                                     "message": "not attached yet"} for bp in wanted]}
        return {"breakpoints": self._place(path, wanted)}

    def _place(self, path: str, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
        session = self._require_session()
        canonical = canonical_path(path)
        for old in session.breakpoints.source:
            if old.path == canonical:
                session.remove_breakpoint(old.path, old.line)
        placed: list[dict[str, Any]] = []
        for bp in wanted:
            line = bp.get("line")
            if not isinstance(line, int):
                placed.append({"verified": False, "message": "line must be a number"})
                continue
            try:
                done = session.set_breakpoint(path, line, bp.get("condition"),
                                              bp.get("hitCondition"), bp.get("logMessage"))
            except ValueError as exc:
                placed.append({"verified": False, "line": line, "message": str(exc)})
                continue
            number = self._breakpoint_ids.setdefault((canonical, done.line),
                                                     next(self._breakpoint_numbers))
            answer: dict[str, Any] = {"id": number, "verified": done.verified,
                                      "line": done.line, "source": {"path": path}}
            if not done.verified:
                answer["message"] = (f"not code of {session.plugin_id} (only its folder "
                                     f"{session.root} is debugged), or no code at or after "
                                     f"line {line}")
            placed.append(answer)
        return placed

    def _set_function_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        names = [str(bp.get("name", "")) for bp in args.get("breakpoints") or []
                 if isinstance(bp, dict)]
        self._messages_wanted = names
        if self.session is None:
            return {"breakpoints": [{"verified": False} for _ in names]}
        return {"breakpoints": self._place_messages(names)}

    def _place_messages(self, names: list[str]) -> list[dict[str, Any]]:
        session = self._require_session()
        for old in session.breakpoints.messages:
            session.remove_message_breakpoint(old.plugin_id, old.type)
        for name in names:
            session.set_message_breakpoint(session.plugin_id, name or ANY_TYPE)
        return [{"verified": True} for _ in names]

    def _set_exception_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        filters = [str(f) for f in args.get("filters") or []]
        self._raised = RAISED in filters
        if self.session is not None:
            self.session.debugger.pause_on_exceptions = RAISED if self._raised else NEVER
        return {"breakpoints": [{"verified": f == RAISED} for f in filters]}

    # -- inspection -------------------------------------------------------------------------

    def _exception_info(self, args: dict[str, Any]) -> dict[str, Any]:
        stop = self._require_session().current_stop
        if stop is None or stop.exception is None:
            raise DapError("not stopped at an exception")
        name, message = stop.exception
        return {"exceptionId": name, "description": message, "breakMode": "always",
                "details": {"typeName": name, "message": message}}

    def _threads(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.session is None:
            return {"threads": []}
        return {"threads": [{"id": THREAD_ID, "name": f"{self.session.plugin_id} (runtime)"}]}

    def _stack_trace(self, args: dict[str, Any]) -> dict[str, Any]:
        stop = self._require_session().current_stop
        frames = stop.frames if stop is not None else []
        start = int(args.get("startFrame") or 0)
        levels = int(args.get("levels") or 0)
        shown = frames[start:start + levels] if levels > 0 else frames[start:]
        return {"totalFrames": len(frames), "stackFrames": [
            {"id": frame.id, "name": frame.function, "line": frame.line, "column": 1,
             "source": {"name": os.path.basename(frame.path), "path": frame.path}}
            for frame in shown]}

    def _scopes(self, args: dict[str, Any]) -> dict[str, Any]:
        frame_id = self._frame_of(args)
        return {"scopes": [{"name": "Locals", "presentationHint": "locals",
                            "variablesReference": self._ref(frame_id, None),
                            "expensive": False}]}

    def _variables(self, args: dict[str, Any]) -> dict[str, Any]:
        debugger = self._require_session().debugger
        with self._lock:
            found = self._refs.get(int(args.get("variablesReference") or 0))
        if found is None:
            raise DapError("unknown variablesReference (the target has moved on)")
        frame_id, expression = found
        rows = (inspection.frame_variables(debugger, frame_id) if expression is None
                else inspection.children(debugger, frame_id, expression))
        return {"variables": [self._variable(frame_id, row) for row in rows]}

    def _variable(self, frame_id: int, row: inspection.Child) -> dict[str, Any]:
        expandable = row.expandable and bool(row.expression)
        return {"name": row.name, "value": row.value, "type": row.type,
                "evaluateName": row.expression,
                "variablesReference": self._ref(frame_id, row.expression) if expandable else 0}

    def _evaluate(self, args: dict[str, Any]) -> dict[str, Any]:
        session = self._require_session()
        expression = str(args.get("expression", "")).strip()
        if not expression:
            raise DapError("nothing to evaluate")
        frame_id = self._frame_of(args)
        if args.get("context") == "clipboard":  # the whole repr, as Debugger.evaluate gives
            return {"result": session.debugger.evaluate(expression, frame_id),
                    "variablesReference": 0}
        row = inspection.watch(session.debugger, frame_id, expression)
        return {"result": row.value, "type": row.type,
                "variablesReference": self._ref(frame_id, expression) if row.expandable else 0}

    def _frame_of(self, args: dict[str, Any]) -> int:
        stop = self._require_session().current_stop
        if stop is None or not stop.frames:
            raise DapError(f"the target is not stopped (it runs {self._require_session().plugin_id})")
        frame_id = args.get("frameId")
        return int(frame_id) if frame_id is not None else stop.frames[0].id

    def _ref(self, frame_id: int, expression: str | None) -> int:
        with self._lock:
            ref = next(self._ref_ids)
            self._refs[ref] = (frame_id, expression)
        return ref

    def _forget_refs(self) -> None:
        with self._lock:
            self._refs.clear()

    # -- execution --------------------------------------------------------------------------

    def _resume(self, command: Callable[[], None]) -> None:
        self._require_session()
        self._resume_requested = True
        try:
            command()
        except TargetNotStopped:
            self._resume_requested = False
            raise

    def _continue(self, args: dict[str, Any]) -> dict[str, Any]:
        self._resume(self._require_session().debugger.resume)
        return {"allThreadsContinued": True}

    def _next(self, args: dict[str, Any]) -> None:
        self._resume(self._require_session().debugger.step_over)

    def _step_in(self, args: dict[str, Any]) -> None:
        self._resume(self._require_session().debugger.step_into)

    def _step_out(self, args: dict[str, Any]) -> None:
        self._resume(self._require_session().debugger.step_out)

    def _pause(self, args: dict[str, Any]) -> None:
        self._require_session().debugger.pause()


def _stopped_body(event: DebugStopped) -> dict[str, Any]:
    stop = event.stop
    # "logomesh" carries the whole stop for LogoMesh's own client (dap_session.py).
    body: dict[str, Any] = {"reason": stop.reason, "threadId": THREAD_ID,
                            "allThreadsStopped": True, "logomesh": event.to_json()}
    if event.message is not None:
        body.update(reason="function breakpoint",
                    description=f"message {event.message.type!r} from {event.message.source}")
    elif stop.exception is not None:
        body.update(description=f"{stop.exception[0]} raised", text=": ".join(stop.exception))
    elif stop.condition_error:
        body.update(description="breakpoint condition failed", text=stop.condition_error)
    return body
