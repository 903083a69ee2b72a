"""The runtime's side of an isolated plugin: a stand-in the bridge routes to.

:class:`IsolatedPlugin` is an ``sdk.Plugin`` whose handlers forward each message to the
plugin's process and whose context (the runtime's, bound to the bridge under the
plugin's id) serves the process's requests: whatever the process asks, it asks as that
plugin, with that plugin's permissions. When the process ends, calls in flight fail
with :class:`~logomesh_studio.sdk.PluginCrashed` and ``on_crash`` decides what next.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from logomesh_studio import sdk
from logomesh_studio.runtime import payload as payloads
from logomesh_studio.runtime.events import EventHub, LogRecorded
from logomesh_studio.runtime.isolation import CHILD_COMMAND
from logomesh_studio.runtime.isolation.child import EXIT_MEMORY
from logomesh_studio.runtime.isolation.frames import (
    Frame,
    FrameProtocol,
    call_head,
    error_from_json,
    error_to_json,
    pack,
    pack_call,
)
from logomesh_studio.runtime.manifest import Limits
from logomesh_studio.runtime.plugin_record import PluginLoadError
from logomesh_studio.runtime.tracebacks import PluginTraceback

_HEADS = 1024
"""Call heads (sender and type) kept ready to send; the cache restarts beyond that."""
STOP_GRACE = 2.0
"""Seconds a stopping process gets to exit after its channel closed, before SIGKILL."""


Launch = Callable[[], tuple[subprocess.Popen[bytes], socket.socket]]
"""Gives a started process, waiting for its boot frame, and the runtime's channel end."""


def child_command(fd: int) -> list[str]:
    """The command that starts an isolated plugin's process on channel ``fd``."""
    if getattr(sys, "frozen", False):  # the packaged app: the same executable
        return [sys.executable, CHILD_COMMAND, str(fd)]
    return [sys.executable, "-m", "logomesh_studio.runtime.isolation", str(fd)]


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """Everything a process needs to run one plugin."""

    plugin_id: str
    folder: Path
    import_root: Path
    entry: str
    data_dir: Path
    config: dict[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    sandbox: bool = True

    def boot(self, providers: dict[str, list[str]], state: Frame | None) -> Frame:
        frame: Frame = {"op": "boot", "plugin_id": self.plugin_id, "folder": str(self.folder),
                        "import_root": str(self.import_root), "entry": self.entry,
                        "data_dir": str(self.data_dir), "config": self.config,
                        "limits": self.limits.model_dump(), "sandbox": self.sandbox,
                        "providers": providers}
        if state is not None:
            frame["state"], frame["state_version"] = state["state"], state["version"]
        return frame


def launch() -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start a process for an isolated plugin; it imports the SDK and waits for its boot
    frame (so one can be started ahead, as a warm spare)."""
    ours, theirs = socket.socketpair()
    try:
        popen = subprocess.Popen(child_command(theirs.fileno()), pass_fds=(theirs.fileno(),),
                                 stdin=subprocess.DEVNULL)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return popen, ours


class _ChildFailed(Exception):
    """Base of the stand-ins for exceptions raised in a plugin's process (same name)."""


_STAND_INS: dict[str, type[_ChildFailed]] = {}


def _stand_in(error: Frame) -> BaseException:
    """An exception of the child's exception's name, carrying its traceback as a note,
    so the bridge reports it (RemoteError, the plugin's log) as it would in-process."""
    if error.get("sdk"):
        return error_from_json(error)
    name = str(error.get("type") or "Exception")
    cls = _STAND_INS.get(name)
    if cls is None:
        cls = type(name if name.isidentifier() else "Exception", (_ChildFailed,), {})
        if len(_STAND_INS) < 1000:
            _STAND_INS[name] = cls
    exc = cls(str(error.get("message", "")))
    if error.get("traceback"):
        exc.add_note(f"in the plugin's process:\n{error['traceback'].rstrip()}")
    return exc


class _Pending:
    """One call in flight in the plugin's process, as the bridge awaits it.

    It is what asyncio's tasks accept as a future (``_asyncio_future_blocking``,
    ``_loop``, ``add_done_callback``, ``result``, ``cancel``: asyncio's protocol for
    future-like objects; without ``get_loop`` asyncio reads ``_loop``, with no call)
    and costs less than an ``asyncio.Future`` where it counts: its answer, read from
    the channel, wakes the sender's task right there (the read is a loop callback,
    outside any task) instead of through one more loop callback, a ``Handle``, per
    answer. A failure (deadline, crash) or a cancellation wakes it with ``call_soon``,
    as asyncio does. One task awaits it, once.
    """

    __slots__ = ("_asyncio_future_blocking", "_loop", "_owner", "number", "deadline",
                 "_done", "_value", "_error", "_wakeup", "_context")

    def __init__(self, owner: IsolatedPlugin, loop: asyncio.AbstractEventLoop, number: int,
                 deadline: float | None) -> None:
        self._asyncio_future_blocking = False
        self._loop = loop
        self._owner = owner
        self.number = number
        self.deadline = deadline
        self._done = False
        self._error: BaseException | None = None
        self._wakeup: Callable[[Any], object] | None = None

    def __await__(self) -> Generator[Any, None, payloads.Encoded]:
        if not self._done:
            self._asyncio_future_blocking = True
            yield self  # the task waits for add_done_callback's callback
        if self._error is not None:
            raise self._error
        return self._value if self._done else self.result()

    def add_done_callback(self, fn: Callable[[Any], object], *,
                          context: contextvars.Context | None = None) -> None:
        if self._wakeup is not None:
            raise RuntimeError("a call to an isolated plugin is awaited once")
        self._wakeup, self._context = fn, context or contextvars.copy_context()
        if self._done:
            self._loop.call_soon(fn, self, context=self._context)

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        if self._wakeup is None or self._wakeup != fn:
            return 0
        self._wakeup = None
        return 1

    def done(self) -> bool:
        return self._done

    def cancelled(self) -> bool:
        return isinstance(self._error, asyncio.CancelledError)

    def result(self) -> payloads.Encoded:
        if not self._done:
            raise asyncio.InvalidStateError("the call has not been answered yet")
        if self._error is not None:
            raise self._error
        value: payloads.Encoded = self._value
        return value

    def exception(self) -> BaseException | None:
        if not self._done:
            raise asyncio.InvalidStateError("the call has not been answered yet")
        if isinstance(self._error, asyncio.CancelledError):
            raise self._error
        return self._error

    def cancel(self, msg: Any = None) -> bool:
        """The sender was cancelled: the process is told to cancel the call."""
        if self._done:
            return False
        self._owner._cancelled(self)
        self.fail(asyncio.CancelledError(msg))
        return True

    def answer(self, value: payloads.Encoded) -> None:
        """The process's answer; from a read of the channel (a loop callback): the
        sender's task runs its next step now."""
        self._done, self._value = True, value
        wakeup = self._wakeup
        if wakeup is not None:
            try:
                self._context.run(wakeup, self)
            except RuntimeError:  # called inside a task after all: the usual way
                self._loop.call_soon(wakeup, self, context=self._context)

    def fail(self, error: BaseException) -> None:
        """End the call with ``error`` (its sender wakes on the loop's next turn)."""
        if not self._done:
            self._done, self._error = True, error
            if self._wakeup is not None:
                self._loop.call_soon(self._wakeup, self, context=self._context)


class _Process:
    """One running process and its channel."""

    def __init__(self, popen: subprocess.Popen[bytes], channel: FrameProtocol) -> None:
        self.popen = popen
        self.channel = channel
        self.loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = self.loop.create_future()


class IsolatedPlugin(sdk.Plugin):
    """Stands in the runtime for a plugin running in its own process."""

    state_version: ClassVar[int] = 1
    encoded_payloads: ClassVar[bool] = True
    """The bridge hands the payload's JSON text on (see bus.takes_encoded_payloads)."""

    def __init__(self, spec: ChildSpec, events: EventHub,
                 on_crash: Callable[[IsolatedPlugin, sdk.PluginCrashed], None],
                 providers: Callable[[], dict[str, list[str]]],
                 start: Launch = launch) -> None:
        super().__init__()
        # A class per instance: what it handles is known once its process is up.
        self.__class__ = type("IsolatedPlugin", (IsolatedPlugin,), {"_handler_table": {}})
        self.spec = spec
        self.sandbox: dict[str, str] = {}
        self.pid = 0
        self._events = events
        self._on_crash = on_crash
        self._providers = providers
        self._launch = start
        self._process: _Process | None = None
        self._booting: asyncio.Future[Frame] | None = None
        self._up: asyncio.Future[None] | None = None
        self._calls: dict[int, _Pending] = {}  # handler calls in flight
        self._requests: dict[int, asyncio.Future[Frame]] = {}  # the others (lifecycle...)
        self._timer: asyncio.TimerHandle | None = None  # at the nearest deadline
        self._timer_at = 0.0  # that deadline (loop time)
        self._heads: dict[tuple[str, str], bytes] = {}
        self._ids = itertools.count(1)
        self._stopping = self._abandoned = False
        self._snapshot: Frame | None = None
        self.state_version_in_child = 1

    # -- lifecycle (called by the host) ----------------------------------------------------

    async def initialize(self, ctx: sdk.PluginContext) -> None:
        self.ctx = ctx
        await self.spawn()

    async def spawn(self, state: Frame | None = None) -> None:
        """Start a process for the plugin and wait until it is initialized; raises
        PluginLoadError with the plugin's traceback if it fails to start."""
        loop = asyncio.get_running_loop()
        self._up = self._up if self._up is not None and not self._up.done() \
            else loop.create_future()
        try:
            popen, ours = self._launch()
        except OSError as exc:
            raise PluginLoadError(self.spec.plugin_id, "start", PluginTraceback(
                f"could not start the plugin's process: {exc}", "")) from None
        ours.setblocking(False)
        process: _Process | None = None

        def lost() -> None:
            if process is not None:
                loop.create_task(self._ended(process))

        _, channel = await loop.connect_accepted_socket(
            lambda: FrameProtocol(self._on_frame, lost, on_reply=self._on_reply), sock=ours)
        process = _Process(popen, channel)
        self._watch_exit(process)
        self._process = process
        self._booting = loop.create_future()
        channel.send(self.spec.boot(self._providers(), state))
        try:
            ready = await self._booting
        finally:
            self._booting = None
        if ready["op"] == "failed":
            self._kill(process)
            raise _load_error(self.spec.plugin_id, ready)
        self._describe(ready)
        self.sandbox, self.pid = ready["sandbox"], ready["pid"]
        if state is not None:
            self._snapshot = state
        if self._up is not None and not self._up.done():
            self._up.set_result(None)

    def _describe(self, plugin: Frame) -> None:
        """Route what the plugin's (new) class handles to its process."""
        cls = type(self)
        cls._handler_table = dict.fromkeys(plugin["handles"], "_forward")
        if plugin["execute"]:
            cls.execute = IsolatedPlugin._execute_in_child  # type: ignore[method-assign,assignment]
        elif "execute" in vars(cls):
            del cls.execute
        self.state_version_in_child = int(plugin["state_version"])

    async def reload_in_place(self) -> None:
        """Have the process reload the plugin's code with its state; PluginLoadError if
        the new version fails (the old one keeps running there), PluginCrashed or
        TimeoutError if the process cannot do it (then start a fresh one)."""
        reply = await self._request(self._live(), {"op": "reload"})
        value = reply.get("value") or {}
        if "failed" in value:
            raise _load_error(self.spec.plugin_id, value["failed"])
        if value.get("snapshot") is not None:
            self._snapshot = {"state": value["snapshot"],
                              "version": self.state_version_in_child}
        self._describe(value)

    async def replace_process(self) -> None:
        """Start a fresh process with the last good state snapshot, ending the current one
        (wedged or gone): calls wait for the new one."""
        old = self._process
        self._up = asyncio.get_running_loop().create_future()  # no crash report for this end
        if old is not None:
            self._kill(old)
        await self.spawn(self._snapshot)

    async def cleanup(self) -> None:
        self._stopping = True
        process = self._process
        if process is None or process.exited.done() or self._abandoned:
            return
        try:
            await self._request(process, {"op": "cleanup"})
        finally:
            await self.stop_process(process)

    async def stop_process(self, process: _Process) -> None:
        """Close the channel, and kill the process if it does not exit in time."""
        process.channel.close()
        try:
            async with asyncio.timeout(STOP_GRACE):
                await asyncio.shield(process.exited)
        except TimeoutError:
            self._kill(process)

    def on_before_reload(self) -> dict[str, Any]:
        return {"isolated_state": self._snapshot}

    async def snapshot(self) -> Frame:
        """The plugin's state as JSON (its ``on_before_reload()``), kept as the last good
        snapshot for a fresh process."""
        process = self._live()
        reply = await self._request(process, {"op": "snapshot"})
        snapshot: Frame = reply["value"]
        self._snapshot = snapshot
        return snapshot

    async def debug_address(self) -> tuple[str, int]:
        """Where the plugin's process serves its debugger (DAP), started on first ask."""
        reply = await self._request(self._live(), {"op": "debug"})
        host, port = reply["value"]
        return str(host), int(port)

    def update_providers(self, table: dict[str, list[str]]) -> None:
        """Tell the process which plugins provide which capabilities now."""
        if self._process is not None and not self._process.exited.done():
            self._process.channel.send({"op": "providers", "table": table})

    async def record_profile(self, seconds: float, interval: float = 0.001) -> Any:
        """Profile the plugin in its process for ``seconds``: speedscope JSON."""
        reply = await self._request(self._live(), {"op": "profile", "seconds": seconds,
                                                   "interval": interval})
        return reply.get("value")

    async def on_after_reload(self, state: dict[str, Any]) -> None:
        carried = state.get("isolated_state")
        if isinstance(carried, dict):
            await self._request(self._live(), {"op": "restore", **carried})

    # -- calls -------------------------------------------------------------------------------

    def _forward(self, call: tuple[str, str, str], limit: float | None = None
                 ) -> Awaitable[payloads.Encoded]:
        """The handler of every type the plugin handles: the bridge passes the sender,
        the message type and the payload's JSON text (see bus.takes_encoded_payloads)."""
        source, type, text = call
        key = (source, type)
        head = self._heads.get(key)
        if head is None:
            head = self._heads[key] = call_head(source, type)
            if len(self._heads) > _HEADS:
                self._heads.clear()
        return self._call(head, text, limit)

    async def _execute_in_child(self, input: Any, limit: float | None = None) -> Any:
        return await self._call(None, input, limit)

    def _call(self, head: bytes | None, payload: Any, limit: float | None
              ) -> Awaitable[payloads.Encoded]:
        """Have the process call the handler ``head`` names (:func:`call_head`) with the
        payload whose JSON is ``payload``, or ``execute`` with ``payload`` if ``head`` is
        None; its answer as decoded from the JSON the process sent, which the bridge
        records and hands on without encoding it again. After ``limit`` seconds (the
        bridge's time limit for the call; None: none) a bare TimeoutError."""
        process, up = self._process, self._up
        loop = process.loop if process is not None else asyncio.get_running_loop()
        deadline = loop.time() + limit if limit is not None else None
        if process is None or up is None or not up.done() or process.exited.done():
            return self._call_once_up(head, payload, deadline)
        return self._start_call(process, head, payload, deadline)

    async def _call_once_up(self, head: bytes | None, payload: Any, deadline: float | None
                            ) -> payloads.Encoded:
        """A call made while the process restarts: it waits (within its deadline)."""
        if self._up is None:
            raise sdk.PluginCrashed(self.spec.plugin_id, "its process is not running")
        async with asyncio.timeout_at(deadline):  # the sender's time limit applies
            await asyncio.shield(self._up)  # restarting: wait
        return await self._start_call(self._live(), head, payload, deadline)

    def _start_call(self, process: _Process, head: bytes | None, payload: Any,
                    deadline: float | None) -> _Pending:
        number = next(self._ids)
        pending = _Pending(self, process.loop, number, deadline)
        calls = self._calls
        # With calls in flight, the calls made in this step of the loop leave together.
        process.channel.write(
            pack_call(number, head, payload) if head is not None else
            pack({"op": "call", "id": number, "source": "", "type": "execute",
                  "payload": payload, "execute": True}), bool(calls))
        calls[number] = pending
        if deadline is not None and (self._timer is None or deadline < self._timer_at):
            self._arm(process.loop, deadline)
        return pending

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Run :meth:`_expire` at ``deadline``: one timer for all calls in flight."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = loop.call_at(deadline, self._expire), deadline

    def _expire(self) -> None:
        """Fail the calls past their deadline (the process is told to cancel them) and
        wait for the next deadline."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now, nearest = loop.time(), None
        for pending in list(self._calls.values()):
            deadline = pending.deadline
            if deadline is None:
                continue
            if deadline <= now:
                self._cancelled(pending)
                pending.fail(TimeoutError())
            elif nearest is None or deadline < nearest:
                nearest = deadline
        if nearest is not None:
            self._arm(loop, nearest)

    def _cancelled(self, pending: _Pending) -> None:
        """Forget a call that ends unanswered; the process is told to cancel it."""
        if self._calls.pop(pending.number, None) is not None and self._process is not None:
            self._process.channel.send({"op": "cancel", "id": pending.number})

    def _on_reply(self, number: int, text: str) -> None:
        """The process's answer to call ``number``, as JSON."""
        pending = self._calls.pop(number, None)
        if pending is None:  # past its deadline or cancelled
            return
        try:
            value = payloads.from_text(text, "response")
        except sdk.InvalidPayload as exc:
            pending.fail(sdk.ResponseRefused(self.spec.plugin_id, str(exc)))
            return
        pending.answer(value)

    def _call_failed(self, frame: Frame) -> None:
        """The process's answer to a call that did not return a value."""
        pending = self._calls.pop(frame["id"], None)
        if pending is None:
            return
        if "error" in frame:
            pending.fail(_stand_in(frame["error"]))
        else:
            pending.fail(sdk.ResponseRefused(self.spec.plugin_id,
                                             str(frame.get("unsendable", ""))))

    def _live(self) -> _Process:
        process = self._process
        if process is None or process.exited.done():
            raise sdk.PluginCrashed(self.spec.plugin_id, "its process is not running")
        return process

    async def _request(self, process: _Process, frame: Frame) -> Frame:
        """Send ``frame`` (a request other than a call) and wait for the process's reply
        (raises what it raised)."""
        number = next(self._ids)
        future: asyncio.Future[Frame] = process.loop.create_future()
        frame["id"] = number
        process.channel.send(frame)
        self._requests[number] = future
        try:
            reply = await future
        except asyncio.CancelledError:
            process.channel.send({"op": "cancel", "id": number})
            raise
        finally:
            self._requests.pop(number, None)
        if "error" in reply:
            raise _stand_in(reply["error"])
        return reply

    # -- the process's frames --------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        op = frame.get("op")
        if op == "reply":
            future = self._requests.get(frame["id"])
            if future is None:
                self._call_failed(frame)
            elif not future.done():
                future.set_result(frame)
        elif op in _REQUESTS:
            asyncio.get_running_loop().create_task(self._serve(frame))
        elif op == "log":
            self._events.emit(LogRecorded(
                plugin_id=self.spec.plugin_id, level=str(frame.get("level", "INFO")),
                message=str(frame.get("message", "")), path=str(frame.get("path", "")),
                line=int(frame.get("line", 0)), traceback=str(frame.get("traceback", "")),
                time=float(frame.get("time", 0.0))))
        elif op in ("ready", "failed"):
            if self._booting is not None and not self._booting.done():
                self._booting.set_result(frame)

    async def _serve(self, frame: Frame) -> None:
        """Answer one request of the process, made as this plugin through its context."""
        ctx, process = self.ctx, self._process
        if ctx is None or process is None:
            return
        try:
            value = await _REQUESTS[frame["op"]](ctx, frame)
            answer: Frame = {"op": "result", "id": frame["id"], "value": value}
        except sdk.PluginError as exc:
            answer = {"op": "result", "id": frame["id"], "error": error_to_json(exc)}
        except Exception as exc:  # a malformed request: the plugin's own error
            answer = {"op": "result", "id": frame["id"],
                      "error": error_to_json(sdk.PluginError(f"bad request: {exc!r}"))}
        process.channel.send(answer)

    # -- the process's end -------------------------------------------------------------------

    def _watch_exit(self, process: _Process) -> None:
        loop = asyncio.get_running_loop()
        try:
            pidfd = os.pidfd_open(process.popen.pid)
        except (AttributeError, OSError):  # no pidfd: a thread waits instead
            waiting = loop.run_in_executor(None, process.popen.wait)
            waiting.add_done_callback(lambda f: _settle(process.exited, f.result()))
            return

        def exited() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            _settle(process.exited, process.popen.wait())

        loop.add_reader(pidfd, exited)

    async def _ended(self, process: _Process) -> None:
        """The channel closed: wait for the process, fail its calls, report a crash."""
        try:
            async with asyncio.timeout(STOP_GRACE):
                code = await asyncio.shield(process.exited)
        except TimeoutError:  # it closed the channel but lives on: end it
            self._kill(process)
            code = await process.exited
        crash = sdk.PluginCrashed(self.spec.plugin_id, self.describe_exit(code))
        if self._booting is not None and not self._booting.done():
            self._booting.set_result({"op": "failed", "stage": "initialize",
                                      "error": f"its process ended: {crash.reason}",
                                      "traceback": "", "path": "", "line": 0})
        if process is not self._process:
            return
        calls, self._calls = self._calls, {}
        for pending in calls.values():
            pending.fail(crash)
        for future in self._requests.values():
            if not future.done():
                future.set_exception(crash)
        if not self._stopping and self._up is not None and self._up.done():
            self._up = None
            self._on_crash(self, crash)

    def describe_exit(self, code: int) -> str:
        """Why a process ended, naming the limit it hit."""
        limits = self.spec.limits
        if code == EXIT_MEMORY and limits.memory_mb:
            return f"memory limit {limits.memory_mb} MB exceeded (limits.memory_mb)"
        if code < 0:
            name = _signal_name(-code)
            if -code == signal.SIGXCPU and limits.cpu_seconds:
                return f"CPU limit {limits.cpu_seconds} s exceeded (limits.cpu_seconds)"
            return f"killed by signal {name}"
        return f"its process exited with code {code}"

    def await_restart(self) -> asyncio.Future[None]:
        """A future senders wait on while the plugin restarts (see supervisor.py)."""
        self._up = asyncio.get_running_loop().create_future()
        return self._up

    def give_up(self, crash: sdk.PluginCrashed) -> None:
        """No restart: calls waiting for one fail with ``crash``."""
        if self._up is not None and not self._up.done():
            self._up.set_exception(crash)
            self._up.exception()  # retrieved: nobody may be waiting

    def abandon(self) -> None:
        """End a process a fresh one replaces (wedged or gone): no crash is reported."""
        self._stopping = self._abandoned = True
        self.kill()

    def kill(self) -> None:
        """End the process now (SIGKILL)."""
        if self._process is not None:
            self._kill(self._process)

    @staticmethod
    def _kill(process: _Process) -> None:
        process.channel.close()
        with contextlib.suppress(ProcessLookupError):
            process.popen.kill()


def _load_error(plugin_id: str, failed: Frame) -> PluginLoadError:
    return PluginLoadError(plugin_id, str(failed["stage"]), PluginTraceback(
        str(failed["error"]), str(failed["traceback"]), str(failed["path"]),
        int(failed["line"])))


def _settle(future: asyncio.Future[int], code: int) -> None:
    if not future.done():
        future.set_result(code)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


async def _send(ctx: sdk.PluginContext, frame: Frame) -> Any:
    return await ctx.send(frame["target"], frame["type"], frame.get("payload"),
                          frame.get("timeout"))


async def _broadcast(ctx: sdk.PluginContext, frame: Frame) -> Any:
    answers = await ctx.broadcast(frame["type"], frame.get("payload"), frame.get("capability"))
    return {pid: {"error": error_to_json(a)} if isinstance(a, BaseException) else {"value": a}
            for pid, a in answers.items()}


async def _capability(ctx: sdk.PluginContext, frame: Frame) -> Any:
    return list(await ctx.request_capability(frame["name"], frame.get("params")))


async def _workflow(ctx: sdk.PluginContext, frame: Frame) -> Any:
    return await ctx.workflow(frame["steps"])


_REQUESTS = {"send": _send, "broadcast": _broadcast, "capability": _capability,
             "workflow": _workflow}
