"""The plugin host: loads, starts, stops and unloads plugins on the runtime loop.

A failure in one plugin's import, ``initialize`` or ``cleanup`` marks that plugin
``failed`` with its traceback; the others keep running.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logomesh_studio import sdk
from logomesh_studio.runtime.bus import CommunicationBridge
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.events import (
    EventHub,
    LogRecorded,
    ManifestInvalid,
    PluginFailed,
    PluginLoaded,
    PluginStopped,
    WorkspaceLoaded,
)
from logomesh_studio.runtime.imports import ModuleConflict, PluginImporter, added_since
from logomesh_studio.runtime.manifest import Problem
from logomesh_studio.runtime.plugin_record import (
    FAILED,
    LOADING,
    PLUGIN_ERRORS,
    RELOADING,
    RUNNING,
    STOPPED,
    LoadedPlugin,
    PluginInfo,
    PluginLoadError,
    PluginRecord,
    call_plugin,
    modules_under,
    purge_modules,
    raised_by_plugin,
    runtime_cancelled,
)
from logomesh_studio.runtime.reload import Reloader
from logomesh_studio.runtime.resolver import Resolution, resolve
from logomesh_studio.runtime.tracebacks import PluginTraceback, plugin_traceback
from logomesh_studio.runtime.watchdog import LifecycleGuard, LifecycleWatchdog

if TYPE_CHECKING:
    from logomesh_studio.runtime.isolation.supervisor import Supervisor

_FORMATTER = logging.Formatter()


class _EventLogHandler(logging.Handler):
    """Turns plugins' log records into LogRecorded events: one handler for every plugin
    of a host (logging keeps a process-wide list of handlers that it searches linearly
    when one goes away, which made 10,000 plugins slow to stop)."""

    def __init__(self, hub: EventHub) -> None:
        super().__init__(logging.DEBUG)
        # A closure, not ``hub.emit``: a bound method's ``__self__`` would hand a plugin
        # walking ctx.log the hub (to subscribe to every plugin's traffic) in one step.
        # That stops accidents, not intent: see the guide's "Security" section.
        def publish(record: logging.LogRecord) -> None:
            tb = _FORMATTER.formatException(record.exc_info) if record.exc_info else ""
            hub.emit(LogRecorded(plugin_id=getattr(record, _PLUGIN_ATTR, ""),
                                 level=record.levelname, message=record.getMessage(),
                                 path=record.pathname, line=record.lineno, traceback=tb,
                                 time=record.created))

        self._publish = publish

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._publish(record)
        except Exception:
            self.handleError(record)


_PLUGIN_ATTR = "logomesh_plugin"


class _PluginStamp(logging.Filter):
    """Marks a plugin logger's records with the plugin's id (a filter, unlike a handler,
    is not registered process-wide)."""

    def __init__(self, plugin_id: str) -> None:
        super().__init__()
        self.plugin_id = plugin_id

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, _PLUGIN_ATTR, self.plugin_id)
        return True


class PluginHost:
    """Owns the plugins of one workspace and the bridge they talk through.

    All coroutine methods run on the runtime's asyncio loop.
    """

    def __init__(self, workspace: Path | None, config: RuntimeConfig | None = None,
                 events: EventHub | None = None) -> None:
        self.workspace = Path(workspace).resolve() if workspace is not None else None
        self.config = config or RuntimeConfig()
        self.events = events or EventHub()
        self.bus = CommunicationBridge(self.events, self.config)
        self.records: dict[str, PluginRecord] = {}
        self.problems: list[Problem] = []
        self.resolution = Resolution()
        self.importer = PluginImporter()
        self._log_handler = _EventLogHandler(self.events)
        self.watchdog = LifecycleWatchdog()
        """Stops plugin code stuck in a lifecycle call past ``lifecycle_timeout``."""
        self.lock = asyncio.Lock()
        """Held while plugins start, stop, reload or leave: one lifecycle change at a time."""
        self.reloader = Reloader(self)
        self.entry_point_paths: list[str] | None = None
        """Where to look for installed plugins (None: sys.path)."""
        self._isolation: Supervisor | None = None

    # -- queries ---------------------------------------------------------------------------

    def plugin(self, plugin_id: str) -> PluginInfo:
        """Snapshot of one plugin (KeyError if unknown)."""
        record = self.records[plugin_id]
        m = record.source.manifest
        handles = tuple(type(record.loaded.instance).handled_types()) if record.loaded else ()
        return PluginInfo(
            id=m.id, name=m.name, version=m.version, status=record.status,
            folder=str(record.source.folder), manifest_path=str(record.source.manifest_path),
            description=m.description, capabilities=tuple(m.capabilities),
            dependencies=dict(m.dependencies), permissions=tuple(m.permissions),
            handles=handles, error=record.error.error if record.error else "",
            traceback=record.error.text if record.error else "")

    def plugins(self) -> list[PluginInfo]:
        """Snapshots of every known plugin, in load order then by id."""
        order = {pid: i for i, pid in enumerate(self.resolution.order)}
        ids = sorted(self.records, key=lambda pid: (order.get(pid, len(order)), pid))
        return [self.plugin(pid) for pid in ids]

    def instance(self, plugin_id: str) -> sdk.Plugin | None:
        """The live instance (runtime-internal: tests and devtools only)."""
        record = self.records.get(plugin_id)
        return record.loaded.instance if record and record.loaded else None

    # -- loading ---------------------------------------------------------------------------

    async def load_workspace(self) -> None:
        """Discover, resolve and start every plugin of the workspace, in dependency order."""
        started = time.perf_counter()
        found = discover(self.workspace, entry_points=self.config.entry_points,
                         entry_point_paths=self.entry_point_paths)
        self.problems = []
        self.report_problems(found.problems)
        self.resolution = resolve(found.plugins, found.unavailable())
        for source in found.plugins:
            self.records[source.id] = PluginRecord(source)
        for pid, problem in self.resolution.failed.items():
            self.problems.append(problem)
            self._mark_failed(self.records[pid], "resolve",
                              PluginTraceback(f"{problem.field}: {problem.reason}", str(problem),
                                              problem.path))
        async with self.lock:
            for pid in self.resolution.order:
                await self._start(pid)
        self.events.emit(WorkspaceLoaded(
            workspace=str(self.workspace or ""),
            running=tuple(p for p in self.resolution.order if self.records[p].status == RUNNING),
            failed=tuple(sorted(p for p, r in self.records.items() if r.status == FAILED)),
            seconds=time.perf_counter() - started))

    def report_problems(self, problems: list[Problem]) -> None:
        """Record and announce manifest problems found after the initial load."""
        self.problems.extend(problems)
        for problem in problems:
            self.events.emit(ManifestInvalid(path=problem.path, field=problem.field,
                                             reason=problem.reason))

    def _mark_failed(self, record: PluginRecord, stage: str, detail: PluginTraceback) -> None:
        record.status = FAILED
        record.error = detail
        record.failed_stage = stage
        self.events.emit(PluginFailed(plugin_id=record.id, stage=stage, error=detail.error,
                                      traceback=detail.text, path=detail.path, line=detail.line))

    def failure(self, record: PluginRecord, stage: str, exc: BaseException) -> PluginLoadError:
        """``exc`` raised by plugin code at ``stage``, as a PluginLoadError with a trimmed
        traceback."""
        return PluginLoadError(record.id, stage,
                               plugin_traceback(raised_by_plugin(exc), record.source.folder))

    def _import_class(self, record: PluginRecord) -> tuple[type[sdk.Plugin], dict[str, Any]]:
        source = record.source
        try:
            top_level = self.importer.check(source)
        except ModuleConflict as exc:
            raise PluginLoadError(record.id, "import", PluginTraceback(str(exc), "", exc.path)
                                  ) from None
        before = len(sys.modules)
        try:
            obj, added = self.importer.import_entry(source, top_level)
        except BaseException as exc:  # whatever the plugin raised, bar our own cancellation
            # Forget what a failed import left half-done, so the next try reads the files.
            purge_modules(modules_under(source.folder, added_since(before)))
            if runtime_cancelled(exc):
                raise
            raise self.failure(record, "import", exc) from exc
        modules = modules_under(source.folder, added)
        if not (isinstance(obj, type) and issubclass(obj, sdk.Plugin)):
            raise PluginLoadError(record.id, "import", PluginTraceback(
                f"TypeError: entry {source.manifest.entry!r} is not a subclass of "
                "logomesh_studio.sdk.Plugin", "", str(source.manifest_path)))
        return obj, modules

    @property
    def isolation(self) -> Supervisor:
        """Starts and restarts isolated plugins (made on first use)."""
        if self._isolation is None:
            from logomesh_studio.runtime.isolation.supervisor import Supervisor

            self._isolation = Supervisor(self)
        return self._isolation

    def guard(self, record: PluginRecord, stage: str) -> LifecycleGuard:
        """The watchdog's guard for one lifecycle call of ``record`` (see watchdog.py)."""
        return self.watchdog.guard(record.id, stage, record.source.folder,
                                   self.config.lifecycle_timeout)

    def new_context(self, record: PluginRecord) -> sdk.PluginContext:
        """A fresh context for ``record``, logging into the event hub."""
        logger = logging.Logger(f"logomesh.plugin.{record.id}", logging.DEBUG)
        logger.addFilter(_PluginStamp(record.id))
        logger.addHandler(self._log_handler)
        return sdk.PluginContext(record.id, record.source.manifest.config, logger)

    async def instantiate(self, record: PluginRecord) -> LoadedPlugin:
        """Import and construct the plugin (not yet initialized); raises PluginLoadError.
        An isolated plugin gets its stand-in here; its process starts in ``initialize``."""
        if record.source.manifest.isolation == "process":
            return LoadedPlugin(self.isolation.create(record), self.new_context(record))
        cls, modules = self._import_class(record)
        try:
            instance = cls()
        except BaseException as exc:  # whatever the plugin raised, bar our own cancellation
            purge_modules(modules)
            if runtime_cancelled(exc):
                raise
            raise self.failure(record, "instantiate", exc) from exc
        return LoadedPlugin(instance, self.new_context(record), modules)

    async def initialize(self, record: PluginRecord, loaded: LoadedPlugin) -> None:
        """Run ``initialize(ctx)`` with the context bound to the bridge."""
        self.bus.bind_context(loaded.context, record.source.manifest)
        try:
            await call_plugin(loaded.instance.initialize, loaded.context,
                              timeout=self.config.lifecycle_timeout,
                              guard=self.guard(record, "initialize"))
        except PluginLoadError:  # an isolated plugin's process failed, with its traceback
            sdk._unbind(loaded.context)
            raise
        except PLUGIN_ERRORS as exc:
            sdk._unbind(loaded.context)
            raise self.failure(record, "initialize", exc) from exc

    async def start(self, plugin_id: str) -> bool:
        """Import, instantiate and initialize a plugin; False (and marked failed) on error."""
        async with self.lock:
            return await self._start(plugin_id)

    async def _start(self, plugin_id: str) -> bool:
        """``start`` for callers already holding ``lock``."""
        record = self.records[plugin_id]
        if record.status in (RUNNING, LOADING, RELOADING):
            return record.status == RUNNING
        for dep_id in record.source.manifest.dependencies:
            dep = self.records.get(dep_id)
            if dep is None or dep.status != RUNNING:
                why = "is not loaded" if dep is None else f"is {dep.status}"
                self._mark_failed(record, "dependencies", PluginTraceback(
                    f"not started because its dependency {dep_id} {why}", "",
                    str(record.source.manifest_path)))
                return False
        record.status = LOADING
        started = time.perf_counter()
        loaded = None
        try:
            loaded = await self.instantiate(record)
            await self.initialize(record, loaded)
        except PluginLoadError as exc:
            if loaded is not None:
                purge_modules(loaded.modules)
            self._mark_failed(record, exc.stage, exc.detail)
            return False
        record.loaded, record.status, record.error = loaded, RUNNING, None
        record.failed_stage, record.ever_started = "", True
        self.bus.attach(record.id, loaded.instance, record.source.manifest, loaded.context.log)
        self.events.emit(PluginLoaded(plugin_id=record.id, version=record.source.manifest.version,
                                      folder=str(record.source.folder),
                                      seconds=time.perf_counter() - started))
        return True

    async def cleanup(self, record: PluginRecord, loaded: LoadedPlugin) -> PluginLoadError | None:
        """Run ``cleanup()``; returns the failure instead of raising (stopping goes on)."""
        try:
            await call_plugin(loaded.instance.cleanup, timeout=self.config.lifecycle_timeout,
                              guard=self.guard(record, "cleanup"))
        except PLUGIN_ERRORS as exc:
            return self.failure(record, "cleanup", exc)
        finally:
            sdk._unbind(loaded.context)
        return None

    async def stop(self, plugin_id: str, reason: str = "stopped") -> None:
        """Stop a plugin: detach it from the bridge, run cleanup, forget its modules."""
        async with self.lock:
            await self._stop(plugin_id, reason)

    async def _stop(self, plugin_id: str, reason: str = "stopped") -> None:
        """``stop`` for callers already holding ``lock``."""
        record = self.records[plugin_id]
        loaded = record.loaded
        if loaded is None:
            if record.status != FAILED:
                record.status = STOPPED
            return
        self.bus.detach(plugin_id, keep_permissions=True)  # cleanup() may still send
        record.loaded = None
        failure = await self.cleanup(record, loaded)
        self.bus.revoke(plugin_id)
        purge_modules(loaded.modules)
        if failure is not None:
            self._mark_failed(record, failure.stage, failure.detail)
        else:
            record.status = STOPPED
        self.events.emit(PluginStopped(plugin_id=plugin_id, reason=reason))

    async def start_startable(self) -> list[str]:
        """Re-resolve and start plugins that never started or waited on a dependency
        (after a plugin folder was added); returns the ids started. Caller holds ``lock``."""
        self.resolution = resolve([r.source for r in self.records.values()])
        started = []
        for pid in self.resolution.order:
            record = self.records[pid]
            waiting = record.status == FAILED and record.failed_stage in ("resolve",
                                                                          "dependencies")
            if (waiting or (record.status == STOPPED and not record.ever_started)) \
                    and await self._start(pid):
                started.append(pid)
        for pid, problem in self.resolution.failed.items():
            record = self.records[pid]
            if record.status != RUNNING and record.failed_stage != "resolve":
                self._mark_failed(record, "resolve", PluginTraceback(
                    f"{problem.field}: {problem.reason}", str(problem), problem.path))
        return started

    async def remove(self, plugin_id: str, dependents: list[str]) -> None:
        """Unload a plugin whose folder is gone; its running dependents stop, marked
        failed with the reason (naming the dependency of theirs that stopped). Caller
        holds ``lock``."""
        for pid in reversed(dependents):
            record = self.records.get(pid)
            if record is not None and record.status == RUNNING:
                deps = record.source.manifest.dependencies
                via = plugin_id if plugin_id in deps else min(d for d in deps if d in dependents)
                why = (f"{plugin_id} was removed" if via == plugin_id
                       else f"{via} stopped ({plugin_id} was removed)")
                await self._stop(pid, reason=f"dependency {why}")
                self._mark_failed(record, "dependencies", PluginTraceback(
                    f"dependencies.{via}: stopped because {why}", "",
                    str(record.source.manifest_path)))
        await self._stop(plugin_id, reason="plugin folder removed")
        del self.records[plugin_id]
        self.resolution = resolve([r.source for r in self.records.values()])

    # -- hot reload (see reload.py) ----------------------------------------------------------

    async def reload(self, plugin_id: str) -> bool:
        """Reload ``plugin_id`` (and its dependents) from disk now; True on success."""
        return await self.reloader.reload(plugin_id)

    async def watch(self) -> None:
        """Reload plugins when their files change; emits Watching once live."""
        await self.reloader.watch()

    async def unwatch(self) -> None:
        """Stop watching the workspace."""
        await self.reloader.unwatch()

    async def shutdown(self) -> None:
        """Stop watching, then every plugin, dependents before their dependencies."""
        await self.reloader.unwatch()
        async with self.lock:
            for pid in reversed(self.resolution.order):
                if pid in self.records:
                    await self._stop(pid, reason="shutdown")
            for pid in list(self.records):
                await self._stop(pid, reason="shutdown")
        self.importer.close()

    async def execute(self, plugin_id: str, input: Any = None) -> Any:
        """Call a running plugin's ``execute(input)`` directly, outside the bridge (no
        permission check, not recorded): the Studio's "execute" command."""
        instance = self.instance(plugin_id)
        if instance is None:
            raise sdk.PluginNotFound(f"plugin {plugin_id!r} is not running")
        return await call_plugin(instance.execute, input, timeout=self.config.message_timeout)
