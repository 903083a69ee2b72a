"""The plugin host: loads, starts, stops and unloads plugins on the runtime loop.

A failure in one plugin's import, ``initialize`` or ``cleanup`` marks that plugin
``failed`` with its traceback; the others keep running.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logomesh_studio import sdk
from logomesh_studio._collector import collector_paused
from logomesh_studio.runtime.bus import CommunicationBridge
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.events import (
    EventHub,
    ManifestInvalid,
    PluginLoaded,
    PluginStopped,
    WorkspaceLoaded,
)
from logomesh_studio.runtime.imports import PluginImporter
from logomesh_studio.runtime.lifecycle import Lifecycle
from logomesh_studio.runtime.manifest import Problem
from logomesh_studio.runtime.plugin_record import (
    FAILED,
    LOADING,
    RELOADING,
    RUNNING,
    STOPPED,
    PluginInfo,
    PluginLoadError,
    PluginRecord,
    call_plugin,
    purge_modules,
)
from logomesh_studio.runtime.reload import Reloader
from logomesh_studio.runtime.resolver import Resolution, resolve
from logomesh_studio.runtime.tracebacks import PluginTraceback
from logomesh_studio.runtime.watchdog import LifecycleWatchdog

if TYPE_CHECKING:
    from logomesh_studio.runtime.isolation.supervisor import Supervisor


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
        self.watchdog = LifecycleWatchdog()
        """Stops plugin code stuck in a lifecycle call past ``lifecycle_timeout``."""
        self.lifecycle = Lifecycle(self.config, self.events, self.bus, self.importer,
                                   self.watchdog)
        """The lifecycle steps (instantiate, initialize, cleanup) the reloader shares."""
        self.lifecycle.isolate = lambda record: self.isolation.create(record)
        self._isolation: Supervisor | None = None
        self.lock = asyncio.Lock()
        """Held while plugins start, stop, reload or leave: one lifecycle change at a time."""
        self.reloader = Reloader(self)
        self.entry_point_paths: list[str] | None = None
        """Where to look for installed plugins (None: sys.path)."""

    @property
    def isolation(self) -> Supervisor:
        """Starts and restarts isolated plugins (made on first use)."""
        if self._isolation is None:
            from logomesh_studio.runtime.isolation.supervisor import Supervisor

            self._isolation = Supervisor(self)
        return self._isolation

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
            traceback=record.error.text if record.error else "", isolation=m.isolation,
            **self._isolation_state(record))

    def _isolation_state(self, record: PluginRecord) -> dict[str, Any]:
        """The sandbox and process of an isolated plugin's running process."""
        if self._isolation is None or record.loaded is None:
            return {}
        return self._isolation.state(record.loaded.instance)

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
        with collector_paused():
            await self._load_workspace()
        self.events.emit(WorkspaceLoaded(
            workspace=str(self.workspace or ""),
            running=tuple(p for p in self.resolution.order if self.records[p].status == RUNNING),
            failed=tuple(sorted(p for p, r in self.records.items() if r.status == FAILED)),
            seconds=time.perf_counter() - started))

    async def _load_workspace(self) -> None:
        found = discover(self.workspace, entry_points=self.config.entry_points,
                         entry_point_paths=self.entry_point_paths)
        self.problems = []
        self.report_problems(found.problems)
        self.resolution = resolve(found.plugins, found.unavailable())
        for source in found.plugins:
            self.records[source.id] = PluginRecord(source)
        for pid, problem in self.resolution.failed.items():
            self.problems.append(problem)
            self.lifecycle.mark_failed(self.records[pid], "resolve",
                              PluginTraceback(f"{problem.field}: {problem.reason}", str(problem),
                                              problem.path))
        async with self.lock:
            for pid in self.resolution.order:
                await self.start_locked(pid)

    def report_problems(self, problems: list[Problem]) -> None:
        """Record and announce manifest problems found after the initial load."""
        self.problems.extend(problems)
        for problem in problems:
            self.events.emit(ManifestInvalid(path=problem.path, field=problem.field,
                                             reason=problem.reason))

    async def start(self, plugin_id: str) -> bool:
        """Import, instantiate and initialize a plugin; False (and marked failed) on error."""
        async with self.lock:
            return await self.start_locked(plugin_id)

    async def start_locked(self, plugin_id: str) -> bool:
        """``start`` for callers already holding ``lock``."""
        record = self.records[plugin_id]
        if record.status in (RUNNING, LOADING, RELOADING):
            return record.status == RUNNING
        for dep_id in record.source.manifest.dependencies:
            dep = self.records.get(dep_id)
            if dep is None or dep.status != RUNNING:
                why = "is not loaded" if dep is None else f"is {dep.status}"
                self.lifecycle.mark_failed(record, "dependencies", PluginTraceback(
                    f"not started because its dependency {dep_id} {why}", "",
                    str(record.source.manifest_path)))
                return False
        record.status = LOADING
        started = time.perf_counter()
        loaded = None
        try:
            loaded = await self.lifecycle.instantiate(record)
            await self.lifecycle.initialize(record, loaded)
        except PluginLoadError as exc:
            if loaded is not None:
                purge_modules(loaded.modules)
            self.lifecycle.mark_failed(record, exc.stage, exc.detail)
            return False
        record.loaded, record.status, record.error = loaded, RUNNING, None
        record.failed_stage, record.ever_started = "", True
        self.bus.attach(record.id, loaded.instance, record.source.manifest, loaded.context.log)
        self.events.emit(PluginLoaded(plugin_id=record.id, version=record.source.manifest.version,
                                      folder=str(record.source.folder),
                                      seconds=time.perf_counter() - started))
        return True

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
        failure = await self.lifecycle.cleanup(record, loaded)
        self.bus.revoke(plugin_id)
        purge_modules(loaded.modules)
        if failure is not None:
            self.lifecycle.mark_failed(record, failure.stage, failure.detail)
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
                    and await self.start_locked(pid):
                started.append(pid)
        for pid, problem in self.resolution.failed.items():
            record = self.records[pid]
            if record.status != RUNNING and record.failed_stage != "resolve":
                self.lifecycle.mark_failed(record, "resolve", PluginTraceback(
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
                self.lifecycle.mark_failed(record, "dependencies", PluginTraceback(
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
        if self._isolation is not None:
            self._isolation.close()
        self.importer.close()

    async def execute(self, plugin_id: str, input: Any = None) -> Any:
        """Call a running plugin's ``execute(input)`` directly, outside the bridge (no
        permission check, not recorded): the Studio's "execute" command."""
        instance = self.instance(plugin_id)
        if instance is None:
            raise sdk.PluginNotFound(f"plugin {plugin_id!r} is not running")
        return await call_plugin(instance.execute, input, timeout=self.config.message_timeout)
