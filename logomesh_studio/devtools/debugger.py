"""Breakpoint debugger on ``sys.settrace``: one traced thread, just-my-code, no Qt.

Only code in files under the debugger's roots is ever stopped in or shown, and only
the target thread is traced, only during a session. The trace functions live in
``_tracing``; this module holds the public data and the session that drives them.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from types import FrameType
from typing import Any, Generic, Literal, TypeVar, cast

from logomesh_studio.devtools import _breakpoints, _tracing
from logomesh_studio.devtools._tracing import DebugSessionTerminated

__all__ = [
    "Breakpoint",
    "DebugSessionTerminated",
    "Debugger",
    "EvaluationError",
    "Frame",
    "Stop",
    "TargetNotStopped",
    "UnknownFrameError",
]

ExceptionMode = Literal["never", "raised", "uncaught"]
StopReason = Literal["breakpoint", "step", "exception", "pause"]

_log = logging.getLogger(__name__)
_EXCEPTION_MODES = ("never", "raised", "uncaught")
_OWN_FILES = (__file__, _breakpoints.__file__, _tracing.__file__)
# Seconds a variables()/evaluate() call waits for the paused target thread to answer.
_REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Breakpoint:
    """A breakpoint as placed: ``line`` is where it hits (the next executable line at or
    after the requested one); ``verified`` is False when it can never hit there."""

    id: int
    path: str
    line: int
    verified: bool
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """This breakpoint as a JSON-compatible dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Breakpoint:
        """The breakpoint that :meth:`to_json` described."""
        return cls(**data)


@dataclass(frozen=True)
class Frame:
    """One visible frame of a stop; ``id`` is valid only while that stop lasts."""

    id: int
    function: str
    path: str
    line: int

    def to_json(self) -> dict[str, Any]:
        """This frame as a JSON-compatible dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Frame:
        """The frame that :meth:`to_json` described."""
        return cls(**data)


@dataclass(frozen=True)
class Stop:
    """Why and where the target stopped; ``frames`` are visible frames, innermost first.

    ``exception`` is ``(type name, message)`` for exception stops; ``breakpoint_id``
    names the breakpoint that fired and ``condition_error`` the error its condition
    raised, if any.
    """

    reason: StopReason
    frames: list[Frame]
    exception: tuple[str, str] | None = None
    breakpoint_id: int | None = None
    condition_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """This stop as a JSON-compatible dict."""
        data = asdict(self)
        data["exception"] = list(self.exception) if self.exception else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stop:
        """The stop that :meth:`to_json` described."""
        exception = data.get("exception")
        return cls(
            reason=data["reason"],
            frames=[Frame.from_json(frame) for frame in data["frames"]],
            exception=tuple(exception) if exception else None,
            breakpoint_id=data.get("breakpoint_id"),
            condition_error=data.get("condition_error"),
        )


#: ``listener(stop)`` on each stop, ``listener(None)`` when the target runs again or ends.
StopListener = Callable[[Stop | None], None]


class EvaluationError(Exception):
    """An expression or the variables of a frame could not be evaluated; says why."""


class UnknownFrameError(EvaluationError, LookupError):
    """The frame id is not part of the current stop (stale, never shown, or running)."""


class TargetNotStopped(RuntimeError):
    """A step or resume command was given while the target is not stopped."""


_T = TypeVar("_T")


class _Request(Generic[_T]):
    """A call to run on the paused target thread, with its answer for the caller."""

    def __init__(self, call: Callable[[], _T]) -> None:
        self._call = call
        self._done = threading.Event()
        self._value: _T | None = None
        self._error: Exception | None = None

    def run(self) -> None:
        try:
            self._value = self._call()
        except Exception as exc:  # handed back to the caller's thread
            self._error = exc
        except BaseException as exc:  # SystemExit & co. must not end the target
            self._error = EvaluationError(_breakpoints.describe_error(exc))
        finally:
            self._done.set()

    def result(self) -> _T:
        if not self._done.wait(_REQUEST_TIMEOUT):
            raise EvaluationError(f"the target did not answer within {_REQUEST_TIMEOUT:g} s")
        if self._error is not None:
            raise self._error
        return cast(_T, self._value)  # set by run() before _done


class Debugger:
    """Debug one thread at a time: breakpoints, stepping, pause, exception stops.

    ``roots`` are folders; only code in files under them is stopped in or shown.
    Control methods are called from another thread than the traced one.
    """

    def __init__(self, roots: Iterable[str | os.PathLike[str]]) -> None:
        self._cond = threading.Condition()
        self._tracer = _tracing.Tracer(
            roots=[_tracing.canonical(root) for root in roots],
            hidden_files=[_tracing.canonical(path) for path in _OWN_FILES],
            suspend=self._suspend,
            log=self._append_log,
        )
        self._breakpoints: dict[int, _breakpoints.BreakpointState] = {}
        self._breakpoint_ids = itertools.count(1)
        self._frame_ids = itertools.count(1)
        self._exception_mode: ExceptionMode = "never"
        self._log: list[str] = []
        self._active = False
        self._started = False
        self._finished = False
        self._thread_id: int | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        self._saved_trace: Any = None
        self._stop: Stop | None = None
        self._stop_frames: dict[int, FrameType] = {}
        self._command: str | None = None
        self._requests: deque[_Request[Any]] = deque()
        self._listeners: tuple[StopListener, ...] = ()
        self._log_listeners: tuple[Callable[[str], None], ...] = ()

    # breakpoints

    def set_breakpoint(
        self,
        path: str | os.PathLike[str],
        line: int,
        condition: str | None = None,
        hit_condition: str | None = None,
        log_message: str | None = None,
    ) -> Breakpoint:
        """Add a breakpoint; a line without code moves to the next executable line.

        A breakpoint outside the roots, or past the last line of code, is unverified.
        Raises ValueError for a condition, hit condition or log message that does not parse.
        """
        path = _tracing.canonical(path)
        placed, verified = line, False
        if self._tracer.is_visible(path):
            try:
                later = [
                    code_line
                    for code_line in _breakpoints.executable_lines(path)
                    if code_line >= line
                ]
            except (OSError, SyntaxError, ValueError):
                later = []
            if later:
                placed, verified = min(later), True
        state = _breakpoints.BreakpointState(
            id=next(self._breakpoint_ids),
            path=path,
            requested_line=line,
            line=placed,
            verified=verified,
            condition=condition,
            hit_condition=hit_condition,
            log_message=log_message,
        )
        with self._cond:
            self._breakpoints[state.id] = state
            self._publish_breakpoints()
        self._arm()
        return self._public(state)

    def remove_breakpoint(self, breakpoint_id: int) -> None:
        """Remove a breakpoint by id; raises KeyError for an unknown id."""
        with self._cond:
            if self._breakpoints.pop(breakpoint_id, None) is None:
                raise KeyError(f"no breakpoint with id {breakpoint_id}")
            self._publish_breakpoints()

    @property
    def breakpoints(self) -> list[Breakpoint]:
        """All breakpoints, in the order they were set."""
        with self._cond:
            return [self._public(state) for state in self._breakpoints.values()]

    @property
    def pause_on_exceptions(self) -> ExceptionMode:
        """``"never"``, ``"raised"`` (where raised in visible code) or ``"uncaught"``
        (once it leaves the target function, showing the frame that raised it)."""
        return self._exception_mode

    @pause_on_exceptions.setter
    def pause_on_exceptions(self, mode: ExceptionMode) -> None:
        if mode not in _EXCEPTION_MODES:
            raise ValueError(f"pause_on_exceptions must be one of {_EXCEPTION_MODES}, not {mode!r}")
        self._exception_mode = mode
        self._tracer.set_exception_mode(mode)

    @property
    def log_output(self) -> list[str]:
        """Logpoint messages of the current or last session, in order."""
        with self._cond:
            return list(self._log)

    def is_visible(self, path: str | os.PathLike[str]) -> bool:
        """True when code in ``path`` is under the roots: it may be stopped in and shown."""
        return self._tracer.is_visible(os.fspath(path))

    def add_stop_listener(self, listener: StopListener) -> Callable[[], None]:
        """Call ``listener(stop)`` whenever the target stops, and ``listener(None)`` when
        it runs again or the session ends; returns a function that removes it.

        Listeners run on the target thread, so a front end need not poll
        :meth:`wait_for_stop`; they must be quick and must not wait for the target.
        """
        self._listeners = (*self._listeners, listener)

        def remove() -> None:
            self._listeners = tuple(known for known in self._listeners if known is not listener)

        return remove

    def add_log_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(text)`` with each logpoint message, on the target thread (be
        quick); returns a function that removes it."""
        self._log_listeners = (*self._log_listeners, listener)

        def remove() -> None:
            self._log_listeners = tuple(
                known for known in self._log_listeners if known is not listener)

        return remove

    # session

    def start(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` in a new daemon thread under the debugger."""
        self._begin_session(None)
        thread = threading.Thread(
            target=self._run, args=(func, args, kwargs), name="logomesh-debug-target", daemon=True
        )
        thread.start()

    def attach(self) -> None:
        """Trace the calling thread from now on, as :meth:`start` traces a new thread.

        For a thread that keeps running code of its own (the runtime's): breakpoints,
        steps and pauses apply to what it runs until it calls :meth:`detach`. The
        "uncaught" exception mode has no target function to watch here.
        """
        self._begin_session(threading.get_ident())
        self._arm()
        self._saved_trace = sys.gettrace()
        sys.settrace(self._tracer.dispatch)

    def detach(self) -> None:
        """End the session :meth:`attach` began; call it on the attached thread."""
        with self._cond:
            if not self._active or threading.get_ident() != self._thread_id:
                raise RuntimeError("detach() must be called on the thread that called attach()")
        sys.settrace(self._saved_trace)
        self._saved_trace = None
        self._finish(None, None)

    def wait_for_stop(self, timeout: float | None = 5.0) -> Stop | None:
        """The current stop, once the target is stopped; None once it has finished.

        Raises TimeoutError when neither happens within ``timeout`` seconds.
        """
        with self._cond:
            self._require_session()
            if not self._cond.wait_for(lambda: self._stop is not None or self._finished, timeout):
                raise TimeoutError(f"the target neither stopped nor finished within {timeout} s")
            return self._stop

    def wait_finished(self, timeout: float | None = 5.0) -> Any:
        """The target's return value once it has finished; re-raises its exception.

        Raises TimeoutError when it does not finish within ``timeout`` seconds.
        """
        with self._cond:
            self._require_session()
            if not self._cond.wait_for(lambda: self._finished, timeout):
                raise TimeoutError(f"the target did not finish within {timeout} s")
            if self._error is not None:
                raise self._error
            return self._result

    def terminate(self) -> None:
        """End the session: the target raises DebugSessionTerminated at once if stopped,
        else at its next line of visible code. Does nothing without a session."""
        with self._cond:
            if not self._active:
                return
            self._tracer.request_terminate()
            if self._stop is not None:
                self._send("terminate")
        self._arm()

    # commands

    def step_over(self) -> None:
        """Run to the next line of the current frame (or its caller, if it returns)."""
        self._command_target("over")

    def step_into(self) -> None:
        """Run to the next line executed in visible code, in any frame."""
        self._command_target("into")

    def step_out(self) -> None:
        """Run until the current frame returns; stops in the caller at the call line."""
        self._command_target("out")

    def resume(self) -> None:
        """Run until the next breakpoint, exception stop or pause."""
        self._command_target("continue")

    def pause(self) -> None:
        """Stop the running target at its next line of visible code, even in a busy loop."""
        with self._cond:
            if not self._active or self._stop is not None:
                return
            self._tracer.request_pause()
        self._arm()

    # inspection

    def variables(self, frame_id: int) -> dict[str, str]:
        """Locals of a frame of the current stop, name -> repr (long reprs truncated).

        Raises UnknownFrameError for a frame id that is not in the current stop.
        """

        def read(frame: FrameType) -> dict[str, str]:
            names = frame.f_locals
            module_level = names is frame.f_globals
            return {
                name: _breakpoints.short_repr(value)
                for name, value in names.items()
                if not (module_level and name.startswith("__") and name.endswith("__"))
            }

        return self._on_target(frame_id, read)

    def evaluate(self, expression: str, frame_id: int) -> str:
        """The repr of ``expression`` evaluated in a frame of the current stop.

        Raises EvaluationError (UnknownFrameError for a frame not in the current stop).
        """
        try:
            code = _breakpoints.compile_expression(expression, "expression")
        except ValueError as exc:
            raise EvaluationError(str(exc)) from None

        def run(frame: FrameType) -> str:
            try:
                return repr(_breakpoints.eval_in_frame(code, frame))
            except Exception as exc:  # the user's expression may raise anything
                raise EvaluationError(_breakpoints.describe_error(exc)) from exc

        return self._on_target(frame_id, run)

    # controller side

    def _begin_session(self, thread_id: int | None) -> None:
        with self._cond:
            if self._active:
                raise RuntimeError("a debug session is already running; terminate() it first")
            self._active = self._started = True
            self._finished = False
            self._thread_id = thread_id
            self._result = self._error = self._stop = self._command = None
            self._stop_frames = {}
            self._requests.clear()
            self._log.clear()
            for state in self._breakpoints.values():
                state.hits = 0
            self._tracer.reset()

    def _require_session(self) -> None:
        if not self._started:
            raise RuntimeError("no debug session: call start() or attach() first")

    def _command_target(self, command: str) -> None:
        with self._cond:
            if self._stop is None:
                raise TargetNotStopped(f"cannot {command}: the target is not stopped")
            self._send(command)

    def _send(self, command: str) -> None:
        self._stop = None
        self._stop_frames = {}
        self._command = command
        self._cond.notify_all()

    def _arm(self) -> None:
        with self._cond:
            thread_id = self._thread_id if self._active else None
        if thread_id is not None:
            self._tracer.arm(thread_id)

    def _on_target(self, frame_id: int, call: Callable[[FrameType], _T]) -> _T:
        with self._cond:
            frame = self._stop_frames.get(frame_id)
            if frame is None:
                raise UnknownFrameError(f"frame {frame_id} is not part of the current stop")
            request = _Request(lambda: call(frame))
            self._requests.append(request)
            self._cond.notify_all()
        return request.result()

    def _publish_breakpoints(self) -> None:
        index: dict[str, dict[int, list[_breakpoints.BreakpointState]]] = {}
        for state in self._breakpoints.values():
            index.setdefault(state.path, {}).setdefault(state.line, []).append(state)
        self._tracer.set_breakpoints(
            {
                path: {line: tuple(states) for line, states in lines.items()}
                for path, lines in index.items()
            }
        )

    @staticmethod
    def _public(state: _breakpoints.BreakpointState) -> Breakpoint:
        return Breakpoint(
            state.id,
            state.path,
            state.line,
            state.verified,
            state.condition,
            state.hit_condition,
            state.log_message,
        )

    # target side: runs on the traced thread

    def _run(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with self._cond:
            self._thread_id = threading.get_ident()
        sys.settrace(self._tracer.dispatch)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # handed to wait_finished()
            sys.settrace(None)
            if self._exception_mode == "uncaught" and not isinstance(exc, DebugSessionTerminated):
                self._post_mortem(exc)
            self._finish(None, exc)
        else:
            sys.settrace(None)
            self._finish(result, None)

    def _finish(self, result: Any, error: BaseException | None) -> None:
        # Listeners hear the end before waiters wake, so whoever waits sees it heard.
        self._notify(None)
        with self._cond:
            self._result, self._error = result, error
            self._active = False
            self._finished = True
            self._thread_id = None
            self._stop = None
            self._stop_frames = {}
            self._tracer.reset()
            self._cond.notify_all()

    def _notify(self, stop: Stop | None) -> None:
        for listener in self._listeners:
            try:
                listener(stop)
            except Exception:  # a front end's bug must not take the target down
                _log.exception("debugger stop listener %r failed", listener)

    def _append_log(self, message: str) -> None:
        with self._cond:
            self._log.append(message)
        for listener in self._log_listeners:
            try:
                listener(message)
            except Exception:  # a front end's bug must not take the target down
                _log.exception("debugger log listener %r failed", listener)

    def _post_mortem(self, exc: BaseException) -> None:
        # The frames are finished, but the traceback keeps them and their locals.
        shown = []
        traceback = exc.__traceback__
        while traceback is not None:
            if self._tracer.is_visible(traceback.tb_frame.f_code.co_filename):
                shown.append((traceback.tb_frame, traceback.tb_lineno))
            traceback = traceback.tb_next
        if shown:
            exception = (type(exc).__qualname__, _breakpoints.safe_str(exc))
            self._suspend("exception", shown[::-1], {"exception": exception})

    def _suspend(
        self, reason: str, shown: list[tuple[FrameType, int]], details: dict[str, Any]
    ) -> str:
        # Park the target until a command arrives; meanwhile run variables() and
        # evaluate() here, on the target thread, where tracing is off.
        stop_frames: dict[int, FrameType] = {}
        frames: list[Frame] = []
        for frame, line in shown:
            frame_id = next(self._frame_ids)
            stop_frames[frame_id] = frame
            path = self._tracer.canonical_file(frame.f_code.co_filename)
            frames.append(Frame(frame_id, frame.f_code.co_name, path, line))
        stop = Stop(reason, frames, **details)  # type: ignore[arg-type]
        with self._cond:
            self._stop = stop
            self._stop_frames, self._command = stop_frames, None
            if self._tracer.terminating:
                self._send("terminate")
            self._cond.notify_all()
        self._notify(stop)
        with self._cond:
            while True:
                self._cond.wait_for(lambda: self._command is not None or bool(self._requests))
                if not self._requests:
                    command, self._command = self._command, None
                    if command is not None:  # always so: wait_for saw a command
                        break
                request = self._requests.popleft()
                self._cond.release()
                try:
                    request.run()
                finally:
                    self._cond.acquire()
        self._notify(None)
        return command
