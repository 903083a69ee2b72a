"""The debugger's trace functions: per-code-object decisions, breakpoints, steps, pause.

Everything here except the ``request_*``/``set_*`` methods runs on the traced thread.
The global trace function decides once per code object (a dict keyed by the code
object) whether its frames get a local trace; code without breakpoints gets none
unless a step into, a pause, a termination or "raised" exception stops are pending.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any

from logomesh_studio.devtools import _breakpoints

# Flow-control exceptions that generators and iterators raise by design.
_FLOW_EXCEPTIONS = (StopIteration, StopAsyncIteration, GeneratorExit)

#: line -> breakpoints on it, per canonical file path.
BreakpointIndex = dict[str, dict[int, tuple[_breakpoints.BreakpointState, ...]]]
#: ``suspend(reason, frames, details) -> command`` parks the thread until a command.
Suspend = Callable[[str, list[tuple[FrameType, int]], dict[str, Any]], str]


class DebugSessionTerminated(BaseException):
    """Raised inside the target when the debugger terminates the session.

    A BaseException, like KeyboardInterrupt, so ``except Exception`` in plugin code
    does not swallow it.
    """


def canonical(path: str | os.PathLike[str]) -> str:
    """The real, normalised form of ``path`` that breakpoints and frames are keyed by."""
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def _make_dispatch(
    table: dict[CodeType, Any], decide: Callable[[CodeType], Any]
) -> Callable[[FrameType, str, Any], Any]:
    # The global trace function runs on every Python call of the traced thread, so it
    # is a closure doing one dict lookup; a miss (a new code object) goes to decide().
    def dispatch(frame: FrameType, event: str, arg: Any) -> Any:
        try:
            return table[frame.f_code]
        except KeyError:
            return decide(frame.f_code)

    return dispatch


class Tracer:
    """Trace functions for one thread; stops by calling ``suspend`` on that thread."""

    def __init__(
        self,
        roots: Iterable[str],
        hidden_files: Iterable[str],
        suspend: Suspend,
        log: Callable[[str], None],
    ) -> None:
        self._roots = tuple(roots)
        self._hidden = frozenset(hidden_files)
        self._suspend = suspend
        self._log = log
        # Re-entrant: on an attached thread our own calls are traced, so deciding for
        # one code object can trigger the decision for another.
        self._decide_lock = threading.RLock()
        self._table: dict[CodeType, Any] = {}
        self._canonical_files: dict[str, str] = {}
        self._visible_files: dict[str, bool] = {}
        # Weak: reloaded modules leave their old code objects behind.
        self._code_lines: weakref.WeakKeyDictionary[CodeType, frozenset[int]] = (
            weakref.WeakKeyDictionary()
        )
        self._index: BreakpointIndex = {}
        self._local = self._trace_local
        self._wide = False
        self.dispatch = _make_dispatch(self._table, self._decide)
        self.exception_mode = "never"
        self.pause_requested = False
        self.terminating = False
        self._step_mode: str | None = None
        self._step_frame: FrameType | None = None

    # called from any thread

    def reset(self) -> None:
        """Forget steps, pauses, termination and cached decisions (between sessions)."""
        self._step_mode = self._step_frame = None
        self.pause_requested = self.terminating = False
        self._refresh()

    def set_breakpoints(self, index: BreakpointIndex) -> None:
        """Use these breakpoints from the next call (running frames: see :meth:`arm`)."""
        self._index = index
        self._refresh()

    def set_exception_mode(self, mode: str) -> None:
        """``"never"``, ``"raised"`` or ``"uncaught"`` (the latter handled by the session)."""
        self.exception_mode = mode
        self._refresh()

    def request_pause(self) -> None:
        """Stop at the next visible line; pair with :meth:`arm` for frames already running."""
        self.pause_requested = True
        self._refresh()

    def request_terminate(self) -> None:
        """Raise DebugSessionTerminated at the next visible line."""
        self.terminating = True
        self._refresh()

    def arm(self, thread_id: int) -> None:
        """Give the running frames of a thread the local trace where they now need it.

        Frames entered before a pause or a new breakpoint have no local trace, and a
        busy loop makes no new calls; setting ``f_trace`` makes their next line count.
        """
        frame = sys._current_frames().get(thread_id)
        while frame is not None:
            if self._decision(frame.f_code) is not None:
                frame.f_trace = self._local
                frame.f_trace_lines = True
            frame = frame.f_back

    def is_visible(self, filename: str) -> bool:
        """True for code in a file under the roots, which may be stopped in and shown."""
        try:
            return self._visible_files[filename]
        except KeyError:
            pass
        visible = False
        if not (filename.startswith("<") and filename.endswith(">")):
            path = self.canonical_file(filename)
            visible = path not in self._hidden and any(
                path == root or path.startswith(root + os.sep) for root in self._roots
            )
        self._visible_files[filename] = visible
        return visible

    def canonical_file(self, filename: str) -> str:
        """:func:`canonical` of a code object's filename, cached."""
        try:
            return self._canonical_files[filename]
        except KeyError:
            path = self._canonical_files[filename] = canonical(filename)
            return path

    # decisions

    def _refresh(self) -> None:
        # Decisions depend on breakpoints, steps, pauses and the exception mode; drop
        # them after any change and decide again, lazily, per code object.
        with self._decide_lock:
            self._wide = (
                self._step_mode == "into"
                or self.pause_requested
                or self.terminating
                or self.exception_mode == "raised"
            )
            self._table.clear()

    def _decision(self, code: CodeType) -> Any:
        try:
            return self._table[code]
        except KeyError:
            return self._decide(code)

    def _decide(self, code: CodeType) -> Any:
        with self._decide_lock:
            decision = self._local if self._needs_trace(code) else None
            self._table[code] = decision
        return decision

    def _needs_trace(self, code: CodeType) -> bool:
        if not self.is_visible(code.co_filename):
            return False
        if self._wide:
            return True
        lines = self._index.get(self.canonical_file(code.co_filename))
        return lines is not None and bool(lines) and not self._lines_of(code).isdisjoint(lines)

    def _lines_of(self, code: CodeType) -> frozenset[int]:
        try:
            return self._code_lines[code]
        except KeyError:
            lines = self._code_lines[code] = _breakpoints.code_lines(code)
            return lines

    # trace events

    def _trace_local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if self.terminating:
            raise DebugSessionTerminated("the debug session was terminated")
        if event == "line":
            return self._on_line(frame)
        if event == "return":
            if frame is self._step_frame:
                self._on_step_frame_return(frame)
        elif event == "exception" and self.exception_mode == "raised":
            self._on_exception(frame, arg)
        return self._local

    def _on_line(self, frame: FrameType) -> Any:
        code = frame.f_code
        lines = self._index.get(self.canonical_file(code.co_filename))
        states = lines.get(frame.f_lineno) if lines else None
        if states:
            fired, condition_error = self._hit(states, frame)
            if fired is not None:
                details = {"breakpoint_id": fired, "condition_error": condition_error}
                self._stop_here(frame, "breakpoint", details)
                return self._local
        mode = self._step_mode
        stepping = mode == "into" or (mode == "over" and frame is self._step_frame)
        if (stepping or self.pause_requested) and self.is_visible(code.co_filename):
            self._stop_here(frame, "step" if stepping else "pause", {})
            return self._local
        if frame is not self._step_frame and self._decision(code) is None:
            # Armed for an earlier step or pause; nothing needs this frame's lines now.
            frame.f_trace = None
            return None
        return self._local

    def _hit(
        self, states: tuple[_breakpoints.BreakpointState, ...], frame: FrameType
    ) -> tuple[int | None, str | None]:
        fired: int | None = None
        condition_error: str | None = None
        for state in states:
            fires, error = state.hit(frame)
            if not fires:
                continue
            if state.is_logpoint:
                self._log(state.render(frame) if error is None else f"<{error}>")
            elif fired is None:
                fired, condition_error = state.id, error
        return fired, condition_error

    def _on_step_frame_return(self, frame: FrameType) -> None:
        caller = frame.f_back
        if caller is not None and self.is_visible(caller.f_code.co_filename):
            self._stop_here(caller, "step", {})
            return
        # Returning into code outside the roots: keep stepping into, so the next visible
        # line stops, be it a later callback or the visible code further up.
        self._step_mode, self._step_frame = "into", None
        self._refresh()
        while caller is not None:
            if self.is_visible(caller.f_code.co_filename):
                caller.f_trace = self._local
                caller.f_trace_lines = True
            caller = caller.f_back

    def _on_exception(self, frame: FrameType, arg: tuple[type, BaseException, Any]) -> None:
        exc_type, exc, traceback = arg
        if issubclass(exc_type, _FLOW_EXCEPTIONS) or not self.is_visible(frame.f_code.co_filename):
            return
        deeper = traceback.tb_next if traceback is not None else None
        while deeper is not None:
            if self.is_visible(deeper.tb_frame.f_code.co_filename):
                return  # it was raised in a deeper visible frame and stopped there
            deeper = deeper.tb_next
        exception = (exc_type.__qualname__, _breakpoints.safe_str(exc))
        self._stop_here(frame, "exception", {"exception": exception})

    def _stop_here(self, frame: FrameType, reason: str, details: dict[str, Any]) -> None:
        shown: list[tuple[FrameType, int]] = []
        current: FrameType | None = frame
        while current is not None:
            if self.is_visible(current.f_code.co_filename):
                shown.append((current, current.f_lineno))
            current = current.f_back
        frame.f_trace = self._local
        frame.f_trace_lines = True
        self.pause_requested = False
        command = self._suspend(reason, shown, details)
        if command == "terminate":
            raise DebugSessionTerminated("the debug session was terminated")
        if command == "continue":
            self._step_mode, self._step_frame = None, None
        else:
            self._step_mode, self._step_frame = command, frame
        self._refresh()
