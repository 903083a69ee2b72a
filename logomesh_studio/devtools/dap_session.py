"""A debug session on a plugin whose debugger runs behind a DAP server (``dap.py``).

:class:`DapSession` offers what :class:`~logomesh_studio.devtools.debug_session.DebugSession`
offers a front end (breakpoints, events, a ``debugger`` to command and inspect), but
every call is a Debug Adapter Protocol request: Studio's debugger pane uses it for
isolated plugins, whose debugger lives in their child process, and for any ``--dap``
server. No Qt; events are delivered on the connection's reader thread.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logomesh_studio.devtools._tracing import canonical
from logomesh_studio.devtools.dap_client import DapClient, DapRequestFailed
from logomesh_studio.devtools.debug_session import (
    BreakpointsChanged,
    DebugEnded,
    DebugResumed,
    DebugStopped,
    SessionBase,
    SessionState,
    first_source_file,
)
from logomesh_studio.devtools.debugger import EvaluationError, TargetNotStopped
from logomesh_studio.devtools.workspace_breakpoints import (
    ANY_TYPE,
    MessageBreakpoint,
    SourceBreakpoint,
    WorkspaceBreakpoints,
    validate_breakpoint,
)

__all__ = ["DapSession", "RemoteDebugger"]

_log = logging.getLogger(__name__)
_RESUMING = ("continue", "next", "stepIn", "stepOut")


class RemoteDebugger:
    """The part of :class:`~logomesh_studio.devtools.debugger.Debugger` a front end
    uses, over DAP: commands, exception mode, variables and evaluate. Safe from any
    thread; ``variables`` and ``evaluate`` block until the adapter answers."""

    def __init__(self, session: DapSession) -> None:
        self._session = session
        self._mode = "never"

    @property
    def pause_on_exceptions(self) -> str:
        return self._mode

    @pause_on_exceptions.setter
    def pause_on_exceptions(self, mode: str) -> None:
        self._mode = mode
        self._session._send_exception_mode()

    def is_visible(self, path: str | os.PathLike[str]) -> bool:
        """True for files under the debugged plugin's folder."""
        root = canonical(self._session.root)
        return canonical(path).startswith(root + os.sep)

    def resume(self) -> None:
        self._session._command("continue")

    def step_over(self) -> None:
        self._session._command("next")

    def step_into(self) -> None:
        self._session._command("stepIn")

    def step_out(self) -> None:
        self._session._command("stepOut")

    def pause(self) -> None:
        self._session._request_soon("pause", {"threadId": 1})

    def variables(self, frame_id: int) -> dict[str, str]:
        """Locals of a frame of the current stop, name -> short repr."""
        scopes = self._ask("scopes", {"frameId": frame_id})["scopes"]
        found = self._ask("variables", {"variablesReference": scopes[0]["variablesReference"]})
        return {v["name"]: v["value"] for v in found["variables"]}

    def evaluate(self, expression: str, frame_id: int) -> str:
        """The whole repr of ``expression`` in a frame of the current stop (the
        "clipboard" context: not shortened, so ``inspection`` can read it back)."""
        return str(self._ask("evaluate", {"expression": expression, "frameId": frame_id,
                                          "context": "clipboard"})["result"])

    def _ask(self, command: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._session._request(command, arguments)
        except (DapRequestFailed, TimeoutError) as exc:
            raise EvaluationError(getattr(exc, "message", str(exc))) from None


class DapSession(SessionBase):
    """Debug ``plugin_id`` (whose folder is ``root``) through the DAP server at
    ``address``; :meth:`start_soon`, then :meth:`stop_soon`."""

    def __init__(self, address: tuple[str, int] | Callable[[], tuple[str, int]],
                 plugin_id: str, root: Path, timeout: float = 10.0) -> None:
        super().__init__()
        self.plugin_id = plugin_id
        self.root = Path(root)
        # A callable is asked on the attach thread (an isolated plugin's process says
        # where it serves only when asked, and the GUI must not wait for it).
        self._address = address
        self.address: tuple[str, int] = address if isinstance(address, tuple) else ("", 0)
        self.timeout = timeout
        self.debugger = RemoteDebugger(self)
        self._client: DapClient | None = None
        self._lock = threading.RLock()
        self._source: dict[tuple[str, int], SourceBreakpoint] = {}
        self._messages: dict[tuple[str, str], MessageBreakpoint] = {}
        self._attached = False

    @property
    def attached(self) -> bool:
        """True once the adapter has attached and has the breakpoints."""
        return self._attached

    def entry_file(self) -> Path | None:
        return first_source_file(self.root)

    # lifecycle

    def start_soon(self) -> concurrent.futures.Future[None]:
        """Connect, initialize and attach in a worker thread; a failure ends the session
        (DebugEnded with the reason)."""
        with self._lock:
            if self._state != SessionState.IDLE:
                raise RuntimeError(f"the debug session of {self.plugin_id} was already started")
            self._state = SessionState.RUNNING
        future: concurrent.futures.Future[None] = concurrent.futures.Future()

        def attach() -> None:
            try:
                self._attach()
            except Exception as exc:  # whatever finding or reaching the adapter raised
                self._end(f"could not attach to {self.plugin_id} at "
                          f"{self.address[0]}:{self.address[1]}: {exc}")
                future.set_exception(exc)
            else:
                future.set_result(None)

        threading.Thread(target=attach, name="logomesh-dap-attach", daemon=True).start()
        return future

    def start(self, timeout: float = 10.0) -> None:
        self.start_soon().result(timeout)

    def _attach(self) -> None:
        if not isinstance(self._address, tuple):
            self.address = self._address()
        client = DapClient(*self.address, on_event=self._on_event, timeout=self.timeout)
        self._client = client
        client.request("initialize", {"adapterID": "logomesh", "clientID": "logomesh-studio",
                                      "linesStartAt1": True, "columnsStartAt1": True})
        client.request("attach", {"plugin": self.plugin_id})
        with self._lock:
            self._attached = True
            paths = {path for path, _ in self._source}
        for path in paths:
            self._sync_file(path)
        self._sync_messages()
        self._send_exception_mode()
        client.request("configurationDone")
        self._changed()  # where each breakpoint landed

    def stop_soon(self) -> concurrent.futures.Future[None]:
        """Disconnect (the target resumes, untraced); DebugEnded follows."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        client = self._client
        if client is None or client.closed:
            self._end()
            future.set_result(None)
            return future
        request = client.send_request("disconnect", {"terminateDebuggee": False})

        def done(_: concurrent.futures.Future[dict[str, Any]]) -> None:
            client.close()
            self._end()
            future.set_result(None)

        request.add_done_callback(done)
        return future

    def stop(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(concurrent.futures.TimeoutError):
            self.stop_soon().result(timeout)
        self._end()

    def _end(self, error: str = "") -> None:
        with self._lock:
            if self._state == SessionState.ENDED:
                return
            self._state, self._stop = SessionState.ENDED, None
        client = self._client
        if client is not None and not client.closed:
            client.close()
        self._emit(DebugEnded(self.plugin_id, error))

    # requests

    def _request(self, command: str, arguments: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        client = self._client
        if client is None or not self._attached:
            raise DapRequestFailed(command, "not attached")
        return client.request(command, arguments)

    def _request_soon(self, command: str, arguments: dict[str, Any] | None = None) -> None:
        client = self._client
        if client is None or not self._attached:
            return
        future = client.send_request(command, arguments)
        future.add_done_callback(lambda f: _log_failure(command, f))

    def _command(self, command: str) -> None:
        if self._stop is None:
            raise TargetNotStopped(f"cannot {command}: the target is not stopped")
        # Resumed before the request goes: the next stop may come back at once.
        self._on_resumed()
        self._request_soon(command, {"threadId": 1})

    def _send_exception_mode(self) -> None:
        filters = ["raised"] if self.debugger.pause_on_exceptions == "raised" else []
        self._request_soon("setExceptionBreakpoints", {"filters": filters})

    # breakpoints (as DebugSession)

    @property
    def breakpoints(self) -> WorkspaceBreakpoints:
        with self._lock:
            return WorkspaceBreakpoints(tuple(self._source.values()),
                                        tuple(self._messages.values()))

    def restore(self, breakpoints: WorkspaceBreakpoints) -> None:
        with self._lock:
            for bp in breakpoints.source:
                self._source[(bp.path, bp.line)] = bp
            for message in breakpoints.messages:
                self._messages[(message.plugin_id, message.type)] = message
        self._changed()

    def set_breakpoint(self, path: str | os.PathLike[str], line: int,
                       condition: str | None = None, hit_condition: str | None = None,
                       log_message: str | None = None, enabled: bool = True
                       ) -> SourceBreakpoint:
        wanted = SourceBreakpoint(canonical(path), line, condition or None,
                                  hit_condition or None, log_message or None, enabled)
        validate_breakpoint(wanted)
        with self._lock:
            self._source.pop((wanted.path, line), None)
            self._source[(wanted.path, line)] = wanted
        placed = self._sync_file(wanted.path).get(line, wanted)
        self._changed()
        return placed

    def remove_breakpoint(self, path: str | os.PathLike[str], line: int) -> bool:
        path = canonical(path)
        with self._lock:
            if self._source.pop((path, line), None) is None:
                return False
        self._sync_file(path)
        self._changed()
        return True

    def set_message_breakpoint(self, plugin_id: str, type: str, enabled: bool = True
                               ) -> MessageBreakpoint:
        breakpoint = MessageBreakpoint(plugin_id, type or ANY_TYPE, enabled)
        with self._lock:
            self._messages[(breakpoint.plugin_id, breakpoint.type)] = breakpoint
        self._sync_messages()
        self._changed()
        return breakpoint

    def remove_message_breakpoint(self, plugin_id: str, type: str) -> bool:
        with self._lock:
            found = self._messages.pop((plugin_id, type or ANY_TYPE), None)
        if found is not None:
            self._sync_messages()
            self._changed()
        return found is not None

    def _sync_file(self, path: str) -> dict[int, SourceBreakpoint]:
        """Send the file's enabled breakpoints (DAP replaces a file's set); record where
        each landed. Returns them by the line they were requested on."""
        with self._lock:
            mine = [bp for (p, _), bp in self._source.items() if p == path]
        if not self._attached:
            return {}
        enabled = [bp for bp in mine if bp.enabled]
        try:
            answer = self._request("setBreakpoints", {"source": {"path": path}, "breakpoints": [
                {"line": bp.line, "condition": bp.condition, "hitCondition": bp.hit_condition,
                 "logMessage": bp.log_message} for bp in enabled]})
        except (DapRequestFailed, TimeoutError) as exc:
            _log.warning("%s: breakpoints not sent to the debug adapter: %s", path, exc)
            return {}
        placed: dict[int, SourceBreakpoint] = {}
        with self._lock:
            for bp, result in zip(enabled, answer.get("breakpoints", []), strict=False):
                line = int(result.get("line") or bp.line)
                landed = SourceBreakpoint(bp.path, line, bp.condition, bp.hit_condition,
                                          bp.log_message, True, bool(result.get("verified")))
                self._source.pop((bp.path, bp.line), None)
                self._source[(bp.path, line)] = landed
                placed[bp.line] = landed
        return placed

    def _sync_messages(self) -> None:
        with self._lock:
            names = [mb.type for mb in self._messages.values()
                     if mb.enabled and mb.plugin_id == self.plugin_id]
        if self._attached:
            self._request_soon("setFunctionBreakpoints",
                               {"breakpoints": [{"name": name} for name in names]})

    def _changed(self) -> None:
        self._emit(BreakpointsChanged(self.breakpoints))

    # events, on the reader thread

    def _on_event(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        body = message.get("body") or {}
        if event == "stopped":
            detail = body.get("logomesh")
            if not isinstance(detail, dict):
                _log.warning("a stop without LogoMesh details from %s: %s", self.address, body)
                return
            stopped = DebugStopped.from_json(detail)
            with self._lock:
                if self._state == SessionState.ENDED:
                    return
                self._state, self._stop = SessionState.STOPPED, stopped.stop
            self._emit(stopped)
        elif event == "continued":
            self._on_resumed()
        elif event in ("terminated", "closed"):
            self._end("" if event == "terminated" else "the debug adapter closed the connection")

    def _on_resumed(self) -> None:
        with self._lock:
            if self._state != SessionState.STOPPED:
                return
            self._state, self._stop = SessionState.RUNNING, None
        self._emit(DebugResumed())


def _log_failure(command: str, future: concurrent.futures.Future[dict[str, Any]]) -> None:
    with contextlib.suppress(concurrent.futures.CancelledError):
        error = future.exception()
        if error is not None:
            _log.warning("DAP %s failed: %s", command, error)
