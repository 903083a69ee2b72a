"""The process an isolated plugin runs in: its entry point and its side of the channel.

The runtime starts it as ``python -m logomesh_studio.runtime.isolation FD`` (a frozen
app: ``<executable> _isolated-child FD``; both call :func:`child_main`) with one end of
a socketpair as file descriptor FD. The child reads its boot frame, sets its limits
and its sandbox before any thread exists, imports the plugin, and then serves calls.
The plugin's ``ctx`` holds proxies: every ``send``, ``broadcast``,
``request_capability``, ``workflow`` and log record becomes a frame to the runtime,
whose bridge checks permissions and routes as for any plugin. Nothing of the runtime,
the bridge or another plugin exists in this process.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import faulthandler
import importlib
import inspect
import itertools
import json
import logging
import os
import resource
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logomesh_studio import sdk
from logomesh_studio.runtime import payload as payloads
from logomesh_studio.runtime.events import Event, LogRecorded, ReloadCompleted
from logomesh_studio.runtime.isolation import sandbox
from logomesh_studio.runtime.isolation.frames import (
    MAX_FRAME,
    ChannelError,
    Frame,
    FrameProtocol,
    error_from_json,
    error_to_json,
    pack,
    pack_reply,
    read_frame,
)
from logomesh_studio.runtime.tracebacks import plugin_traceback

EXIT_MEMORY = 86
"""Exit code of a child whose plugin ran out of its ``memory_mb``."""

_PR_SET_PDEATHSIG = 1
_FORMATTER = logging.Formatter()
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_decode = json.JSONDecoder().decode


def child_main(argv: list[str]) -> int:
    """Run one isolated plugin: ``argv`` is ``[FD]``, the channel's file descriptor
    (also reached as ``logomesh-studio _isolated-child FD``, hidden from the help).
    Until its boot frame arrives the process is a warm spare, imported and waiting."""
    sock = socket.socket(fileno=int(argv[0]))
    _die_with_parent()
    try:
        boot = read_frame(sock)
    except ChannelError:  # a spare the runtime no longer needs
        return 0
    faulthandler.enable()
    limits = boot.get("limits") or {}
    _set_limits(limits)
    os.chdir(boot["folder"])
    sys.dont_write_bytecode = True  # the plugin folder is read-only in the sandbox
    loop = asyncio.new_event_loop()  # its self-pipe is a socket: made before seccomp
    # The debugger's listening socket, for the same reason (served only when asked).
    debug_listener = socket.create_server(("127.0.0.1", 0)) if boot.get("debuggable", True) \
        else None
    plan = sandbox.plan_for(Path(boot["folder"]), Path(boot["data_dir"]),
                            limits.get("files", ()), bool(limits.get("network")))
    report = sandbox.apply(plan) if boot.get("sandbox", True) else {}
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # the plugin's modules come from its import root, after the stdlib
    sys.path.append(boot["import_root"])
    child = _Child(boot, loop, report, debug_listener)
    try:
        loop.run_until_complete(child.serve(sock))
    finally:
        loop.close()
    return 0


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when the runtime goes (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the runtime closes the channel instead
        pass
    if os.getppid() == 1:  # the runtime is already gone
        os._exit(0)


def _set_limits(limits: dict[str, Any]) -> None:
    memory = limits.get("memory_mb")
    if memory:
        size = int(memory) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    cpu = limits.get("cpu_seconds")
    if cpu:  # SIGXCPU at the limit, SIGKILL a second later if it is ignored
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))


def _out_of_memory() -> None:
    """The plugin exceeded ``memory_mb``: end with the exit code that says so."""
    os._exit(EXIT_MEMORY)


class _ChannelLog(logging.Handler):
    """Ships the plugin's log records to the runtime (from any thread)."""

    def __init__(self, child: _Child) -> None:
        super().__init__(logging.DEBUG)
        self._child = child

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tb = _FORMATTER.formatException(record.exc_info) if record.exc_info else ""
            event = LogRecorded(plugin_id=self._child.plugin_id, level=record.levelname,
                                message=record.getMessage(), path=record.pathname,
                                line=record.lineno, traceback=tb, time=record.created)
            self._child.post({"op": "log", "level": event.level, "message": event.message,
                              "path": event.path, "line": event.line,
                              "traceback": event.traceback, "time": event.time})
            self._child.emit(event)
        except Exception:
            self.handleError(record)


class _Port:
    """The plugin context's messaging port: each call is a request to the runtime."""

    def __init__(self, child: _Child) -> None:
        self._child = child

    async def send(self, target: str, type: str, payload: Any, timeout: float | None) -> Any:
        return await self._child.request({"op": "send", "target": target, "type": type,
                                          "payload": payload, "timeout": timeout})

    async def broadcast(self, type: str, payload: Any, capability: str | None
                        ) -> dict[str, Any]:
        answers = await self._child.request({"op": "broadcast", "type": type,
                                             "payload": payload, "capability": capability})
        return {pid: error_from_json(a["error"]) if "error" in a else a.get("value")
                for pid, a in answers.items()}

    async def request_capability(self, name: str, params: Any) -> tuple[str, Any]:
        provider, result = await self._child.request({"op": "capability", "name": name,
                                                      "params": params})
        return provider, result

    def providers(self, capability: str) -> list[str]:
        return list(self._child.providers.get(capability, ()))

    async def workflow(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = await self._child.request({"op": "workflow", "steps": steps})
        return result


class _Child:
    """The plugin instance and the child's end of the channel."""

    def __init__(self, boot: Frame, loop: asyncio.AbstractEventLoop,
                 report: dict[str, str], debug_listener: socket.socket | None = None) -> None:
        self.boot = boot
        self.plugin_id: str = boot["plugin_id"]
        self.folder = Path(boot["folder"])
        self.loop = loop
        self.report = report
        self.providers: dict[str, list[str]] = boot.get("providers") or {}
        self.instance: sdk.Plugin | None = None
        self.context: sdk.PluginContext | None = None
        self._channel: FrameProtocol | None = None
        self._closed: asyncio.Future[None] = loop.create_future()
        self._requests: dict[int, asyncio.Future[Any]] = {}
        self._calls: dict[int, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)
        self._thread = threading.get_ident()
        self._debug_listener = debug_listener
        self._debugging: Any = None  # (DapServer, address, ChildTarget) once served

    # -- channel ------------------------------------------------------------------------

    async def serve(self, sock: socket.socket) -> None:
        _, channel = await self.loop.connect_accepted_socket(
            lambda: FrameProtocol(self._on_frame, self._on_lost, self._call), sock=sock)
        self._channel = channel
        await self._start()
        await self._closed

    def _on_lost(self) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def post(self, frame: Frame) -> None:
        """Send ``frame`` to the runtime, from any thread."""
        if threading.get_ident() == self._thread:
            self._send(frame)
        else:
            self.loop.call_soon_threadsafe(self._send, frame)

    def _send(self, frame: Frame) -> None:
        if self._channel is not None:
            self._channel.send(frame)

    async def request(self, frame: Frame) -> Any:
        """Ask the runtime (a message of the plugin's); its answer or its error."""
        number = next(self._ids)
        future: asyncio.Future[Any] = self.loop.create_future()
        self._requests[number] = future
        frame["id"] = number
        self.post(frame)
        try:
            return await future
        finally:
            self._requests.pop(number, None)

    def _on_frame(self, frame: Frame) -> None:
        op = frame.get("op")
        if op == "call":  # an ``execute`` (a handler's call has a frame of its own)
            self._call(frame["id"], frame["source"], frame["type"], None, frame.get("payload"),
                       bool(frame.get("execute")))
        elif op == "result":
            future = self._requests.get(frame["id"])
            if future is not None and not future.done():
                if "error" in frame:
                    future.set_exception(error_from_json(frame["error"]))
                else:
                    future.set_result(frame.get("value"))
        elif op == "cancel":
            task = self._calls.get(frame["id"])
            if task is not None:
                task.cancel()
        elif op == "providers":
            self.providers = frame["table"]
        elif op == "profile":
            self._profile(frame)
        elif op == "debug":
            self._debug(frame["id"])
        elif op in _LIFECYCLE:
            self._spawn(frame["id"], _LIFECYCLE[op](self, frame))

    # -- calls --------------------------------------------------------------------------

    def _call(self, number: int, source: str, type: str, text: str | None,
              payload: Any = None, execute: bool = False) -> None:
        """Call the handler for ``type`` (or ``execute``) with the payload whose JSON is
        ``text`` (else ``payload``) and answer call ``number`` with what it returns."""
        instance = self.instance
        try:
            if instance is None:
                raise sdk.PluginError(f"{self.plugin_id} is not running")
            if self._debugging is not None:
                for hook in list(self._debugging[2].hooks):
                    hook(source, self.plugin_id, type)
            if text is not None:
                payload = _decode(text)
            if execute:
                result = instance.execute(payload)
            else:
                method = instance.handler_for(type)
                if method is None:
                    raise sdk.NoHandler(f"{self.plugin_id} has no handler for {type!r}")
                result = method(sdk.Message(source, type, payload, 0))
        except MemoryError:
            _out_of_memory()
        except BaseException as exc:  # the handler's failure is the caller's answer
            self._answer_error(number, exc)
            return
        if inspect.isawaitable(result):
            self._spawn(number, _awaited(result), self._respond)
        else:
            self._respond(number, result)

    def _spawn(self, number: int, work: Any,
               answer: Callable[[int, Any], None] | None = None) -> None:
        """Run ``work`` as a task; ``answer`` (``_answer`` unless given) sends its result."""
        task = self.loop.create_task(work)
        self._calls[number] = task
        task.add_done_callback(lambda t: self._finished(number, t, answer or self._answer))

    def _finished(self, number: int, task: asyncio.Task[Any],
                  answer: Callable[[int, Any], None]) -> None:
        self._calls.pop(number, None)
        if task.cancelled():
            self._answer_error(number, asyncio.CancelledError("cancelled by the runtime"))
            return
        exc = task.exception()
        if isinstance(exc, MemoryError):
            _out_of_memory()
        if exc is not None:
            self._answer_error(number, exc)
        else:
            answer(number, task.result())

    def _respond(self, number: int, value: Any) -> None:
        """Answer a call with the handler's response as JSON text, encoded as the bridge
        encodes responses (which then takes the text as is, checking its size)."""
        try:
            text = payloads.encode(value, MAX_FRAME, "response")
        except sdk.InvalidPayload as exc:
            self._send({"op": "reply", "id": number, "unsendable": str(exc)})
            return
        if self._channel is not None:
            self._channel.write(pack_reply(number, text))

    def _answer(self, number: int, value: Any) -> None:
        try:
            data = pack({"op": "reply", "id": number, "value": value})
        except (TypeError, ValueError, RecursionError) as exc:
            self._send({"op": "reply", "id": number, "unsendable": str(exc)})
            return
        if self._channel is not None:
            self._channel.write(data)

    def _answer_error(self, number: int, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(exc))
        self._send({"op": "reply", "id": number,
                    "error": {"type": type(exc).__name__, "message": str(exc),
                              "traceback": tb, "sdk": isinstance(exc, sdk.PluginError),
                              **({"attrs": error_to_json(exc)["attrs"]}
                                 if isinstance(exc, sdk.PluginError) else {})}})

    # -- lifecycle ----------------------------------------------------------------------

    async def _start(self) -> None:
        """Import, construct and initialize the plugin; tell the runtime how it went."""
        stage = "import"
        try:
            cls = self._import_class()
            stage = "instantiate"
            instance = cls()
            stage = "initialize"
            context = self._new_context()
            await _awaited(instance.initialize(context))
            state = self.boot.get("state")
            if state is not None:
                stage = "on_after_reload"
                await self._restore(instance, state, int(self.boot.get("state_version", 1)))
        except MemoryError:
            _out_of_memory()
        except BaseException as exc:  # whatever the plugin raised: the start failed
            detail = plugin_traceback(exc, self.folder)
            self._send({"op": "failed", "stage": stage, "error": detail.error,
                        "traceback": detail.text, "path": detail.path, "line": detail.line})
            return
        self.instance, self.context = instance, context
        self._send({"op": "ready", **self._description(instance), "sandbox": self.report,
                    "pid": os.getpid()})

    def _new_context(self) -> sdk.PluginContext:
        log = logging.Logger(f"logomesh.plugin.{self.plugin_id}", logging.DEBUG)
        log.addHandler(_ChannelLog(self))
        context = sdk.PluginContext(self.plugin_id, self.boot.get("config") or {}, log)
        sdk._bind(context, _Port(self))
        return context

    @staticmethod
    def _description(instance: sdk.Plugin) -> Frame:
        """What the runtime needs to route to ``instance``."""
        return {"handles": type(instance).handled_types(),
                "execute": type(instance).execute is not sdk.Plugin.execute,
                "state_version": type(instance).state_version}

    def _import_class(self) -> type[sdk.Plugin]:
        module_name, _, attr = self.boot["entry"].partition(":")
        obj: Any = __import__(module_name, fromlist=["_"])
        for part in attr.split("."):
            obj = getattr(obj, part)
        if not (isinstance(obj, type) and issubclass(obj, sdk.Plugin)):
            raise TypeError(f"entry {self.boot['entry']!r} is not a subclass of "
                            "logomesh_studio.sdk.Plugin")
        return obj

    async def _restore(self, instance: sdk.Plugin, state: dict[str, Any], version: int
                       ) -> None:
        if version != type(instance).state_version:
            state = instance.migrate_state(state, version)
        await _awaited(instance.on_after_reload(state))

    async def _cleanup(self, frame: Frame) -> None:
        instance, self.instance = self.instance, None
        if instance is not None:
            await _awaited(instance.cleanup())

    async def _snapshot(self, frame: Frame) -> dict[str, Any]:
        """The plugin's ``on_before_reload()`` state, which must be JSON to travel."""
        instance = self.instance
        if instance is None:
            raise sdk.PluginError(f"{self.plugin_id} is not running")
        state = instance.on_before_reload()
        if not isinstance(state, dict):
            raise TypeError(f"on_before_reload() must return a dict, not "
                            f"{type(state).__name__}")
        try:
            _encode(state)
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError(f"the state on_before_reload() returns must be JSON to reach "
                            f"a new process of an isolated plugin ({exc})") from None
        return {"state": state, "version": type(instance).state_version}

    async def _reload(self, frame: Frame) -> Frame:
        """Reload the plugin in place, as the runtime does in-process: on any failure
        the old instance keeps running with its state and modules (a ``failed`` answer)."""
        old, old_context = self.instance, self.context
        if old is None:
            raise sdk.PluginError(f"{self.plugin_id} is not running")
        stage = "on_before_reload"
        old_modules = _modules_under(self.folder)
        try:
            state = old.on_before_reload()
            if not isinstance(state, dict):
                raise TypeError(f"on_before_reload() must return a dict, not "
                                f"{type(state).__name__}")
            if type(old).on_before_reload is sdk.Plugin.on_before_reload:
                state = {**state, "config": dict(self.boot.get("config") or {})}
            snapshot = _as_json(state)
            for name in old_modules:
                sys.modules.pop(name, None)
            importlib.invalidate_caches()
            stage = "import"
            cls = self._import_class()
            stage = "instantiate"
            new = cls()
            if type(old).on_before_reload is not sdk.Plugin.on_before_reload \
                    or cls.on_after_reload is not sdk.Plugin.on_after_reload:
                state = copy.deepcopy(state)  # its own hooks may change what they get
            stage = "initialize"
            context = self._new_context()
            await _awaited(new.initialize(context))
            stage = "on_after_reload"
            await self._restore(new, state, type(old).state_version)
        except MemoryError:
            _out_of_memory()
        except BaseException as exc:  # whatever the new version raised: roll back
            for name in _modules_under(self.folder):
                if name not in old_modules:
                    sys.modules.pop(name, None)
            sys.modules.update(old_modules)
            detail = plugin_traceback(exc, self.folder)
            return {"failed": {"stage": stage, "error": detail.error,
                               "traceback": detail.text, "path": detail.path,
                               "line": detail.line}}
        self.instance, self.context = new, context
        try:
            await _awaited(old.cleanup())
        except Exception:
            if old_context is not None:
                old_context.log.warning("cleanup of the old version failed", exc_info=True)
        self.emit(ReloadCompleted(plugin_id=self.plugin_id, version="", cause="reload",
                                  timings={}))  # the debugger places its breakpoints again
        return {**self._description(new), "snapshot": snapshot}

    def _debug(self, number: int) -> None:
        """Serve the debugger (DAP) on its control thread; answer its address."""
        if self._debugging is None:
            if self._debug_listener is None:
                self._answer_error(number, sdk.PluginError(
                    f"{self.plugin_id}: its process was started without a debugger"))
                return
            from logomesh_studio.runtime.isolation.debugging import ChildTarget, serve

            target = ChildTarget(self.plugin_id, self.folder, self.loop, lambda: self.instance)
            server, address = serve(target, self._debug_listener)
            self._debugging = (server, address, target)
        self._answer(number, list(self._debugging[1]))

    def emit(self, event: Event) -> None:
        """An event for the debug session, if one is being served (from any thread)."""
        if self._debugging is not None:
            if threading.get_ident() == self._thread:
                self._debugging[2].emit(event)
            else:
                self.loop.call_soon_threadsafe(self._debugging[2].emit, event)

    def _profile(self, frame: Frame) -> None:
        """Sample this process's loop thread for ``seconds`` from now (calls that arrive
        with this frame are in it); answers the profile as speedscope JSON. The process
        hosts its plugin as the runtime hosts the others, so it profiles it with the
        devtools profiler the Studio uses on the runtime thread."""
        from logomesh_studio.devtools.profiler import Profiler

        profiler = Profiler(float(frame.get("interval", 0.001)), self._thread,
                            switch_interval=0.001, name=self.plugin_id,
                            plugin_roots={self.plugin_id: str(self.folder)})
        profiler.start()

        async def recorded() -> Any:
            try:
                await asyncio.sleep(float(frame["seconds"]))
            finally:
                profile = profiler.stop()
            return profile.to_speedscope()

        self._spawn(frame["id"], recorded())

    async def _restore_frame(self, frame: Frame) -> None:
        if self.instance is None:
            raise sdk.PluginError(f"{self.plugin_id} is not running")
        await self._restore(self.instance, frame["state"], int(frame.get("version", 1)))


_LIFECYCLE = {"cleanup": _Child._cleanup, "snapshot": _Child._snapshot,
              "restore": _Child._restore_frame, "reload": _Child._reload}


def _modules_under(folder: Path) -> dict[str, Any]:
    """The loaded modules whose files are under ``folder`` (the plugin's own). Not
    plugin_record.modules_under: importing that module would load pydantic here."""
    prefix = os.path.join(os.path.realpath(folder), "")
    return {name: module for name, module in list(sys.modules.items())
            if (path := getattr(module, "__file__", None))
            and os.path.realpath(path).startswith(prefix)}


def _as_json(state: dict[str, Any]) -> Any:
    """``state`` as the JSON a fresh process could restore, or None if it is not JSON."""
    try:
        return json.loads(_encode(state))
    except (TypeError, ValueError, RecursionError):
        return None


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value

