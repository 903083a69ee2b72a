"""RuntimeClient: the Studio's only door into the runtime.

Commands go in as a name plus plain arguments and come back as plain data
(``await client.call("plugins")``). Runtime events come out as Qt signals on the GUI
thread. The runtime's EventHub calls subscribers on the runtime thread, so the
client only appends there; the GUI drains the queue once per tick and emits one
batch per kind, so 10,000 messages a second are ~30 signals a second, not 10,000.
While a workspace is open, a CPU meter samples the runtime thread and the client
reports each plugin's share of its time once a second.
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from logomesh_studio.devtools.debug_backend import AnySession, RuntimeDebugBackend
from logomesh_studio.orchestration.events import (
    PhaseFinished,
    PhaseStarted,
    RunStatusChanged,
    TaskFinished,
    TaskStarted,
)
from logomesh_studio.runtime.events import (
    Event,
    LogRecorded,
    ManifestInvalid,
    MessageRecorded,
    PermissionsChanged,
    PluginFailed,
    PluginLoaded,
    PluginStopped,
    ReloadCompleted,
    ReloadFailed,
    ReloadStarted,
    Watching,
    WorkspaceLoaded,
)
from logomesh_studio.runtime.senders import DEVELOPER, DEVELOPER_PERMISSIONS

if TYPE_CHECKING:
    import asyncio

    from logomesh_studio.devtools.cpu_meter import CpuMeter
    from logomesh_studio.devtools.dap import DapServer
    from logomesh_studio.devtools.findings import Finding
    from logomesh_studio.devtools.insights import Insights
    from logomesh_studio.devtools.metrics import MetricsSnapshot
    from logomesh_studio.devtools.profiler import Profile
    from logomesh_studio.orchestration.engine import OrchestrationEngine
    from logomesh_studio.orchestration.records import RunRecord, RunSummary
    from logomesh_studio.runtime.bus import Connection
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.host import PluginHost
    from logomesh_studio.runtime.plugin_record import PluginInfo
    from logomesh_studio.runtime.runner import RuntimeThread

_log = logging.getLogger(__name__)

class ClientState(StrEnum):
    """The runtime as the window sees it: stopped -> loading -> running -> stopping."""

    STOPPED = "stopped"
    LOADING = "loading"
    RUNNING = "running"
    STOPPING = "stopping"


STOPPED, LOADING = ClientState.STOPPED, ClientState.LOADING
RUNNING, STOPPING = ClientState.RUNNING, ClientState.STOPPING
TICK_MS = 30
"""How often (at most) queued runtime events are delivered to the GUI."""
MAX_BATCH_MESSAGES = 20_000
"""Messages waiting for the GUI at most; older ones are dropped (the views keep fewer)."""
CPU_REFRESH_MS = 1000
"""How often each plugin's CPU share is reported."""
CPU_WINDOW_S = 2.0
"""The span each CPU share is averaged over (the last 2 s of samples)."""
CPU_SAMPLE_S = 0.02
"""The CPU column's sampling interval: ~100 samples per window for well under 1 % of the
runtime's time (bench/cpu_meter.py)."""
"""The CPU shares cover this many seconds up to each report."""


_RUN_EVENTS = (RunStatusChanged, PhaseStarted, PhaseFinished, TaskStarted, TaskFinished)
"""Orchestration events: delivered as one batch per tick on sig_orchestration_events."""


def _traffic(host: PluginHost) -> dict[str, list[Connection]]:
    return {pid: host.bus.connections(pid) for pid in host.records}


# One orchestration engine per host, made on first use (it opens the run history).
_engines: weakref.WeakKeyDictionary[PluginHost, OrchestrationEngine] = \
    weakref.WeakKeyDictionary()


def _engine(host: PluginHost) -> OrchestrationEngine:
    engine = _engines.get(host)
    if engine is None:
        from logomesh_studio.orchestration.engine import OrchestrationEngine

        engine = _engines[host] = OrchestrationEngine(host)
    return engine


async def _start_run(host: PluginHost, text: str, path: str, input: Any = None) -> str:
    from logomesh_studio.orchestration.io import loads

    return (await _engine(host).start(loads(text, path), input)).id


async def _resume_run(host: PluginHost, run_id: str) -> str:
    return (await _engine(host).resume(run_id)).id


def _run_record(host: PluginHost, run_id: str) -> RunRecord:
    engine = _engine(host)
    try:
        return engine.live(run_id).snapshot()
    except KeyError:
        return engine.store.run(run_id)


def _runs(host: PluginHost, orchestration: str = "", limit: int = 50) -> list[RunSummary]:
    engine = _engine(host)
    engine.store.flush()
    runs = engine.store.runs(limit)
    return [r for r in runs if not orchestration or r.orchestration == orchestration]


# The advisor's machinery per host (devtools/insights.py), attached while it runs.
_insights: weakref.WeakKeyDictionary[PluginHost, Insights] = weakref.WeakKeyDictionary()


def _metrics(host: PluginHost, plugins: list[str] | None = None) -> MetricsSnapshot:
    return _insights[host].snapshot(plugins)


def _findings(host: PluginHost) -> list[Finding]:
    return _insights[host].findings()


def _trace_memory(host: PluginHost, on: bool) -> None:
    _insights[host].metrics.trace_memory(on)


async def _close_engine(host: PluginHost) -> None:
    engine = _engines.pop(host, None)
    if engine is not None:
        await engine.close()


# Each command runs on the runtime loop with the host; it may return a value or an
# awaitable. Results are plain data (frozen dataclasses, dicts, JSON values).
COMMANDS: dict[str, Callable[..., Any]] = {
    "plugins": lambda host: host.plugins(),
    "plugin": lambda host, plugin_id: host.plugin(plugin_id),
    "connections": lambda host, plugin_id: host.bus.connections(plugin_id),
    "traffic": _traffic,
    "history": lambda host: list(host.bus.history),
    "clear_history": lambda host: host.bus.clear_history(),
    "problems": lambda host: [p.to_json() for p in host.problems],
    "start": lambda host, plugin_id: host.start(plugin_id),
    "stop": lambda host, plugin_id: host.stop(plugin_id),
    "reload": lambda host, plugin_id: host.reload(plugin_id),
    "watch": lambda host: host.watch(),
    "unwatch": lambda host: host.unwatch(),
    "execute": lambda host, plugin_id, input=None: host.execute(plugin_id, input),
    "send": lambda host, source, target, type, payload=None, timeout=None:
        host.bus.send(source, target, type, payload, timeout),
    "replay": lambda host, record: host.bus.replay(record),
    "pending_permissions": lambda host: host.reloader.pending_permissions(),
    "decide_permissions": lambda host, plugin_id, approve:
        host.reloader.decide_permissions(plugin_id, approve),
    "orchestration_start": _start_run,
    "orchestration_resume": _resume_run,
    "orchestration_control": lambda host, run_id, action: _engine(host).control(run_id, action),
    "orchestration_run": _run_record,
    "orchestration_runs": _runs,
    "orchestration_close": _close_engine,
    "metrics": _metrics,
    "findings": _findings,
    "trace_memory": _trace_memory,
}


def _asyncio():
    # asyncio costs ~40 ms to import; the window is shown before anything needs it.
    import asyncio

    return asyncio


async def _run_command(host: PluginHost, name: str, args: dict[str, Any]) -> Any:
    result = COMMANDS[name](host, **args)
    if hasattr(result, "__await__"):
        result = await result
    return result


class RuntimeClient(QObject):
    """Commands into one runtime thread; its events out as (batched) Qt signals."""

    sig_state_changed = Signal(str)
    sig_workspace_opened = Signal(str)
    sig_messages_recorded = Signal(object)  # list[MessageRecorded]
    sig_logs_recorded = Signal(object)  # list[LogRecorded]
    sig_plugins_changed = Signal()  # a lifecycle event happened: re-query "plugins"
    sig_plugins_listed = Signal(object)  # list[PluginInfo], after each change
    sig_plugin_loaded = Signal(object)
    sig_plugin_failed = Signal(object)
    sig_plugin_stopped = Signal(object)
    sig_manifest_invalid = Signal(object)
    sig_workspace_loaded = Signal(object)
    sig_watching = Signal(object)
    sig_reload_started = Signal(object)
    sig_reload_completed = Signal(object)
    sig_reload_failed = Signal(object)
    sig_permissions_changed = Signal(object)  # PermissionsChanged
    sig_command_failed = Signal(str, str)  # command, error
    sig_cpu_updated = Signal(object)  # dict[plugin id, share of the runtime thread's time]
    sig_orchestration_events = Signal(object)  # list of orchestration events, in order
    sig_dap_serving = Signal(str)  # "host:port" the debug adapter listens on, "" when off
    sig_advice_found = Signal(object)  # list[Finding]: new (or changed) advisor findings
    _sig_events_queued = Signal()  # emitted from the runtime thread: a queued connection

    def __init__(self, config: RuntimeConfig | None = None, parent: QObject | None = None,
                 watch: bool = True) -> None:
        super().__init__(parent)
        self._config = config
        self._watch = watch
        self._runtime: RuntimeThread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._queue: deque[Event] = deque()
        # Messages wait apart, bounded: a GUI thread that stalls under heavy traffic keeps
        # the newest ones (the inspector shows fewer anyway); lifecycle events never drop.
        self._messages: deque[MessageRecorded] = deque(maxlen=MAX_BATCH_MESSAGES)
        self._pending = False
        self._state = STOPPED
        self._workspace: Path | None = None
        self._tasks: set[asyncio.Task] = set()
        self._listing: asyncio.Task | None = None
        self._relist = False
        self.plugin_infos: list[PluginInfo] = []
        self.watching = False
        self._local_debug = RuntimeDebugBackend(lambda: self._runtime)
        self._debug_endpoints: dict[str, tuple[str, int]] = {}
        self._dap_port: int | None = None
        self._dap_server: DapServer | None = None
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(TICK_MS)
        self._cpu_meter: CpuMeter | None = None
        self._cpu_timer = QTimer(self)
        self._cpu_timer.setInterval(CPU_REFRESH_MS)
        self._signals: dict[type[Event], SignalInstance] = {
            PluginLoaded: self.sig_plugin_loaded, PluginFailed: self.sig_plugin_failed,
            PluginStopped: self.sig_plugin_stopped, ManifestInvalid: self.sig_manifest_invalid,
            WorkspaceLoaded: self.sig_workspace_loaded, Watching: self.sig_watching,
            ReloadStarted: self.sig_reload_started, ReloadCompleted: self.sig_reload_completed,
            ReloadFailed: self.sig_reload_failed, PermissionsChanged: self.sig_permissions_changed,
        }
        self._wire_signals()

    def _wire_signals(self) -> None:
        self._sig_events_queued.connect(self._on_runtime_events_queued)
        self._drain_timer.timeout.connect(self._on_drain_timer_timeout)
        self._cpu_timer.timeout.connect(self._on_cpu_timer_timeout)
        self.sig_plugins_changed.connect(self._on_self_plugins_changed)

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def runtime(self) -> RuntimeThread | None:
        """The runtime thread itself: for tests and benchmarks, never for panes."""
        return self._runtime

    @property
    def workspace(self) -> Path | None:
        return self._workspace

    @property
    def developer(self) -> str:
        """The sender id of messages Studio sends for the developer (Send As..., plugin
        panels): it may call any plugin."""
        return DEVELOPER

    def _set_state(self, state: ClientState) -> None:
        if state != self._state:
            self._state = state
            self.sig_state_changed.emit(state)

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self, workspace: Path | None) -> None:
        """Start a runtime on ``workspace`` (closing the current one) and watch it."""
        await self.close()
        # Imported here, not at the top: the window shows before the runtime loads.
        from logomesh_studio.runtime.config import RuntimeConfig
        from logomesh_studio.runtime.permission_changes import ASK
        from logomesh_studio.runtime.runner import RuntimeThread

        if workspace is not None and not Path(workspace).is_dir():
            self._set_state(STOPPED)
            raise NotADirectoryError(f"{workspace}: not a folder of plugins")
        self._workspace = Path(workspace).resolve() if workspace is not None else None
        # Studio can ask: a reload that widens a plugin's permissions waits for approval.
        config = dataclasses.replace(self._config or RuntimeConfig(), permission_changes=ASK)
        runtime = RuntimeThread(self._workspace, config)
        runtime.host.bus.grant(DEVELOPER, list(DEVELOPER_PERMISSIONS))
        from logomesh_studio.devtools.insights import Insights

        # Before the load, so what plugins do in initialize() is counted too.
        _insights[runtime.host] = Insights(runtime, cpu_interval=CPU_SAMPLE_S)
        self._runtime = runtime
        self._unsubscribe = runtime.events.subscribe(self._enqueue)
        self.watching = False
        self._set_state(LOADING)
        self.sig_workspace_opened.emit(str(self._workspace or ""))
        try:
            await _asyncio().to_thread(runtime.start)
        except BaseException:
            _close_insights(runtime)
            if runtime is self._runtime:  # a load that failed (or timed out): nothing runs
                self._runtime = None
                if self._unsubscribe is not None:
                    self._unsubscribe()
                    self._unsubscribe = None
                self._set_state(STOPPED)
            raise
        if runtime is not self._runtime:  # closed or reopened meanwhile
            return
        self._set_state(RUNNING)
        self._start_cpu_meter(runtime)
        self._start_dap_server(runtime)
        self.sig_plugins_changed.emit()
        if self._watch:
            self.spawn(self.call("watch"), "watch")

    async def close(self) -> None:
        """Stop the runtime (plugins get their cleanup) without blocking the GUI."""
        runtime, self._runtime = self._runtime, None
        if runtime is None:
            return
        self._set_state(STOPPING)
        self._stop_cpu_meter()
        self._stop_dap_server()
        _close_insights(runtime)
        try:
            await _asyncio().wrap_future(runtime.submit(_close_engine(runtime.host)))
        except Exception:  # the history must not keep the runtime from stopping
            _log.warning("closing the orchestration engine failed", exc_info=True)
        try:
            await _asyncio().to_thread(runtime.stop)
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self._on_drain_timer_timeout()
            self._set_state(STOPPED)

    def close_now(self, timeout: float = 10.0) -> None:
        """Stop the runtime synchronously (application exit)."""
        self._drain_timer.stop()
        self._stop_cpu_meter()
        self._stop_dap_server()
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            _close_insights(runtime)
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            try:
                runtime.submit(_close_engine(runtime.host)).result(timeout)
            except Exception:  # a stuck or dead loop: stopping the runtime still has to run
                _log.warning("closing the orchestration engine failed", exc_info=True)
            try:
                runtime.stop(timeout)
            except TimeoutError:  # plugin code (or an evaluation) would not let go
                _log.warning("the runtime did not stop within %s s; exiting anyway", timeout)
            self._set_state(STOPPED)
        for task in list(self._tasks):
            task.cancel()

    # -- commands ---------------------------------------------------------------------------

    async def call(self, command: str, **args: Any) -> Any:
        """Run ``command`` on the runtime loop and return its plain-data result."""
        if command not in COMMANDS:
            raise KeyError(f"unknown runtime command {command!r} (known: {', '.join(COMMANDS)})")
        runtime = self._runtime
        if runtime is None:
            raise RuntimeError(f"{command}: no workspace is open")
        future = runtime.submit(_run_command(runtime.host, command, args))
        return await _asyncio().wrap_future(future)

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str,
              done: Callable[[Any], None] | None = None) -> asyncio.Task:
        """Run ``coro`` as a task; ``done(result)`` on success, sig_command_failed on error."""
        task = _asyncio().ensure_future(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                _log.info("%s failed: %s", what, exc, exc_info=exc)
                self.sig_command_failed.emit(what, f"{type(exc).__name__}: {exc}")
            elif done is not None:
                done(t.result())

        task.add_done_callback(finished)
        return task

    async def record_profile(self, seconds: float) -> Profile:
        """Sample the runtime thread for ``seconds`` (in a worker thread) as a Profile."""
        import asyncio

        from logomesh_studio.devtools.profiler import record_thread

        runtime = self._runtime
        if runtime is None:
            raise RuntimeError("profile: no workspace is open")
        roots = {info.id: info.folder for info in await self.call("plugins")}
        # Isolated plugins are sampled in their own processes over the same span.
        isolated = asyncio.wrap_future(runtime.submit(
            runtime.host.isolation.record_profiles(seconds)))
        # A CPU-bound runtime yields the GIL only every switch interval; lowering it while
        # recording gives ~800 samples/s instead of ~190 for ~9 % slowdown (bench/profiler.py).
        profile = await asyncio.to_thread(record_thread, runtime.thread_id, seconds, 0.001,
                                          roots, switch_interval=0.001,
                                          name=f"runtime ({self._workspace})")
        return profile.with_processes(await isolated)

    # -- orchestrations ---------------------------------------------------------------------

    async def start_run(self, text: str, path: str, input: Any = None) -> str:
        """Validate orchestration ``text`` (named ``path``) and start a run; its id.

        Raises OrchestrationInvalid (nothing sent) when a check fails.
        """
        return await self.call("orchestration_start", text=text, path=path, input=input)

    async def control_run(self, run_id: str, action: str) -> bool:
        """``pause``, ``resume`` or ``cancel`` a run in progress; False if it does not apply."""
        return await self.call("orchestration_control", run_id=run_id, action=action)

    async def resume_run(self, run_id: str) -> str:
        """Re-run a failed, cancelled or interrupted run from its first unfinished task."""
        return await self.call("orchestration_resume", run_id=run_id)

    async def run_record(self, run_id: str) -> RunRecord:
        """A run as plain data: live if in progress, else from the history."""
        return await self.call("orchestration_run", run_id=run_id)

    async def runs(self, orchestration: str = "", limit: int = 50) -> list[RunSummary]:
        """Past runs (of ``orchestration`` if given), newest first."""
        return await self.call("orchestration_runs", orchestration=orchestration, limit=limit)

    async def plugins(self) -> list[PluginInfo]:
        return await self.call("plugins")

    async def metrics(self, plugin_id: str | None = None) -> MetricsSnapshot:
        """Performance metrics now: of every plugin, or of ``plugin_id`` only."""
        return await self.call("metrics", plugins=None if plugin_id is None else [plugin_id])

    async def findings(self) -> list[Finding]:
        """The advisor's findings now (the rules evaluated afresh)."""
        return await self.call("findings")

    async def trace_memory(self, on: bool) -> None:
        """Trace allocations so metrics carry memory per plugin (off by default: slow)."""
        await self.call("trace_memory", on=on)

    async def send(self, source: str, target: str, type: str, payload: Any = None,
                   timeout: float | None = None) -> Any:
        """Send as ``source`` (a plugin id: its permissions apply)."""
        return await self.call("send", source=source, target=target, type=type,
                               payload=payload, timeout=timeout)

    async def reload_plugin(self, plugin_id: str) -> bool:
        """Reload ``plugin_id`` (and its dependents) from disk now; True on success."""
        return await self.call("reload", plugin_id=plugin_id)

    async def start_plugin(self, plugin_id: str) -> bool:
        """Start a stopped plugin; False (and marked failed) if it did not start."""
        return await self.call("start", plugin_id=plugin_id)

    async def stop_plugin(self, plugin_id: str) -> None:
        """Stop a plugin (its cleanup runs)."""
        await self.call("stop", plugin_id=plugin_id)

    async def traffic(self) -> dict[str, list[Connection]]:
        """Each plugin's per-peer traffic summary."""
        return await self.call("traffic")

    async def clear_history(self) -> None:
        """Forget the recorded messages (connection statistics are kept)."""
        await self.call("clear_history")

    async def replay(self, record: MessageRecorded) -> Any:
        """Make a recorded call again, as the same kind of call from the same source."""
        return await self.call("replay", record=record)

    async def decide_permissions(self, plugin_id: str, approve: bool) -> None:
        """Apply (``approve``) or refuse the wider permissions a reload asked for."""
        await self.call("decide_permissions", plugin_id=plugin_id, approve=approve)

    def _on_self_plugins_changed(self) -> None:
        # One query at a time; changes during a query cause exactly one more.
        if self._listing is not None:
            self._relist = True
            return
        if self._runtime is None:
            return
        self._listing = self.spawn(self.plugins(), "list plugins", self._on_plugins_listed)
        self._listing.add_done_callback(self._on_listing_done)

    def _on_plugins_listed(self, infos: list[PluginInfo]) -> None:
        self.plugin_infos = infos
        if self._cpu_meter is not None:
            self._cpu_meter.set_roots({info.id: info.folder for info in infos})
            self._cpu_meter.set_processes({info.id: info.pid for info in infos if info.pid})
        self.sig_plugins_listed.emit(infos)

    def _on_listing_done(self, task: asyncio.Task) -> None:
        self._listing = None
        if self._relist:
            self._relist = False
            self._on_self_plugins_changed()

    # -- debugging (the debugger pane's DebugBackend) ----------------------------------------

    def debuggable_plugins(self) -> list[str]:
        """Ids of the plugins of the last plugin list, sorted."""
        return sorted(info.id for info in self.plugin_infos)

    def handled_types(self, plugin_id: str) -> list[str]:
        """The message types ``plugin_id`` handled at the last plugin list."""
        return next((list(info.handles) for info in self.plugin_infos if info.id == plugin_id),
                    [])

    def open_debug_session(self, plugin_id: str) -> AnySession:
        """A new session on ``plugin_id``: over DAP when it runs in its own process (its
        process serves the debugger) or has a debug endpoint, else on the runtime
        thread. Raises
        RuntimeError without a running workspace, KeyError for an unknown plugin."""
        endpoint = self._debug_endpoints.get(plugin_id)
        info = next((info for info in self.plugin_infos if info.id == plugin_id), None)
        isolated = info is not None and info.isolation == "process"
        if endpoint is None and not isolated:
            return self._local_debug.open_debug_session(plugin_id)
        runtime = self._runtime
        if runtime is None:
            raise RuntimeError("no workspace is running: open one before debugging a plugin")
        if info is None:
            raise KeyError(f"no plugin {plugin_id!r} is loaded")
        from logomesh_studio.devtools.dap_session import DapSession

        def child_address() -> tuple[str, int]:  # asked on the session's attach thread
            return runtime.run(runtime.host.isolation.debug_address(plugin_id), timeout=30.0)

        return DapSession(endpoint or child_address, plugin_id, Path(info.folder))

    def set_debug_endpoint(self, plugin_id: str, address: tuple[str, int] | None) -> None:
        """Debug ``plugin_id`` through the DAP server at ``address`` from the next session
        on (None: back to the default: in its process if isolated, else on the runtime
        thread)."""
        if address is None:
            self._debug_endpoints.pop(plugin_id, None)
        else:
            self._debug_endpoints[plugin_id] = address

    @property
    def dap_address(self) -> tuple[str, int] | None:
        """Where the debug adapter for this workspace listens, while it does."""
        return self._dap_server.address if self._dap_server is not None else None

    def serve_dap(self, port: int | None) -> None:
        """Serve the debugger over DAP on 127.0.0.1:``port`` (0: any free port) for this
        and every later workspace, so VS Code can attach; None stops serving."""
        self._dap_port = port
        self._stop_dap_server()
        if self._runtime is not None and self._state == RUNNING:
            self._start_dap_server(self._runtime)

    def _start_dap_server(self, runtime: RuntimeThread) -> None:
        if self._dap_port is None:
            return
        from logomesh_studio.devtools.dap import DapServer
        from logomesh_studio.devtools.debug_target import RuntimeTarget

        server = DapServer(RuntimeTarget(runtime), port=self._dap_port)
        try:
            host, port = server.start()
        except OSError as exc:
            self.sig_command_failed.emit(
                "serve the debug adapter", f"cannot listen on 127.0.0.1:{self._dap_port}: {exc}")
            return
        self._dap_server = server
        self.sig_dap_serving.emit(f"{host}:{port}")

    def _stop_dap_server(self) -> None:
        server, self._dap_server = self._dap_server, None
        if server is not None:
            server.close()
            self.sig_dap_serving.emit("")

    # -- CPU meter --------------------------------------------------------------------------

    def _start_cpu_meter(self, runtime: RuntimeThread) -> None:
        insights = _insights.get(runtime.host)
        if insights is None:
            return
        # The advisor's metrics sample the runtime thread anyway: its meter is the column's.
        insights.start()
        self._cpu_meter = insights.metrics.meter
        self._cpu_timer.start()

    def _stop_cpu_meter(self) -> None:
        self._cpu_timer.stop()
        if self._cpu_meter is not None:  # closed with the insights that own it
            self._cpu_meter = None
            self.sig_cpu_updated.emit({})

    def _on_cpu_timer_timeout(self) -> None:
        if self._cpu_meter is not None:
            self.sig_cpu_updated.emit(self._cpu_meter.shares(CPU_WINDOW_S))

    # -- events -----------------------------------------------------------------------------

    def _enqueue(self, event: Event) -> None:
        # Runtime thread: append, and wake the GUI at most once per drain.
        if type(event) is MessageRecorded:
            self._messages.append(event)
        else:
            self._queue.append(event)
        if not self._pending:
            self._pending = True
            self._sig_events_queued.emit()

    def _on_runtime_events_queued(self) -> None:
        if not self._drain_timer.isActive():
            self._drain_timer.start()

    def _on_drain_timer_timeout(self) -> None:
        self._pending = False
        queue, pending_messages = self._queue, self._messages
        messages = [pending_messages.popleft() for _ in range(len(pending_messages))]
        logs: list[LogRecorded] = []
        advice: list[Event] = []
        others: list[Event] = []
        runs: list[Event] = []
        for _ in range(len(queue)):
            event = queue.popleft()
            if type(event) is LogRecorded:
                logs.append(event)
            elif type(event) in _RUN_EVENTS:
                runs.append(event)
            elif event.kind == "advice":  # devtools.advisor.AdviceFound, imported when needed
                advice.append(event)
            else:
                others.append(event)
        if messages:
            self.sig_messages_recorded.emit(messages)
        if logs:
            self.sig_logs_recorded.emit(logs)
        if runs:
            self.sig_orchestration_events.emit(runs)
        if advice:
            from logomesh_studio.devtools.findings import Finding

            self.sig_advice_found.emit([Finding.from_json(f) for e in advice
                                        for f in e.findings])  # type: ignore[attr-defined]
        for event in others:
            if type(event) is Watching:
                self.watching = True
            signal = self._signals.get(type(event))
            if signal is not None:
                signal.emit(event)
        if any(not isinstance(e, Watching | WorkspaceLoaded) for e in others):
            self.sig_plugins_changed.emit()


def _close_insights(runtime: RuntimeThread) -> None:
    insights = _insights.pop(runtime.host, None)
    if insights is None:
        return
    try:
        insights.close()
    except RuntimeError:  # its sampling thread failed: nothing more to stop
        _log.warning("the CPU meter's sampling thread failed", exc_info=True)
