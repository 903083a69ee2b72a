"""Hot reload: debounce file changes, cascade to dependents, carry state, roll back.

Per plugin: hold its messages -> ``on_before_reload()`` -> drop its modules ->
import -> instantiate -> ``initialize`` -> ``on_after_reload(state)`` -> cleanup
of the old instance -> deliver the held messages to the new one. The old
instance is cleaned up only once the new one is up, so a failure at any step
leaves the old version running with its state untouched.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logomesh_studio import sdk
from logomesh_studio.runtime.discovery import (
    PluginSource,
    is_plugin_folder,
    load_plugin_folder,
    manifest_in,
)
from logomesh_studio.runtime.events import ReloadCompleted, ReloadFailed, ReloadStarted, Watching
from logomesh_studio.runtime.manifest import ManifestError, Problem
from logomesh_studio.runtime.plugin_record import (
    PLUGIN_ERRORS,
    RELOADING,
    RUNNING,
    LoadedPlugin,
    PluginLoadError,
    PluginRecord,
    call_plugin,
    modules_under,
    purge_modules,
)
from logomesh_studio.runtime.resolver import resolve
from logomesh_studio.runtime.security import PermissionSet
from logomesh_studio.runtime.tracebacks import PluginTraceback
from logomesh_studio.runtime.watcher import WorkspaceWatcher, is_ignored

if TYPE_CHECKING:
    from logomesh_studio.runtime.host import PluginHost

HASHED_SUFFIXES = (".py", ".toml", ".json", ".yaml", ".yml", ".cfg", ".ini", ".txt")
SKIPPED_SUBDIRS = ("tests",)


def content_hash(folder: Path) -> str:
    """Hash of a plugin's code and data files (not its tests): equal means no change."""
    digest = hashlib.blake2b(digest_size=16)
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = os.path.relpath(dirpath, folder)
        dirnames[:] = sorted(d for d in dirnames if not (
            is_ignored((d, "")) or (rel_dir == "." and d in SKIPPED_SUBDIRS)))
        for name in sorted(filenames):
            if not name.endswith(HASHED_SUFFIXES) or is_ignored((name,)):
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            digest.update(f"{rel_dir}/{name}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def drop_bytecode(folder: Path) -> None:
    """Delete cached bytecode under ``folder``: a same-size rewrite within the same
    second would otherwise pass the mtime+size check and run the old code."""
    for dirpath, dirnames, filenames in os.walk(folder):
        if os.path.basename(dirpath) == "__pycache__":
            for name in filenames:
                if name.endswith(".pyc"):
                    try:
                        os.unlink(os.path.join(dirpath, name))
                    except OSError:
                        pass
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules")]


def default_state(record: PluginRecord, loaded: LoadedPlugin, connections: list[Any]
                  ) -> dict[str, Any]:
    """The state carried when a plugin defines no hooks: data, configuration, connections."""
    instance = loaded.instance
    hooks = type(instance).on_before_reload is not sdk.Plugin.on_before_reload
    state = instance.on_before_reload()
    if not isinstance(state, dict):
        raise TypeError(f"on_before_reload() must return a dict, not {type(state).__name__}")
    if not hooks:
        state = {**state, "config": dict(loaded.context.config),
                 "connections": [c.to_json() for c in connections]}
    return state


@dataclass(slots=True)
class _Pending:
    """Changes collected during one debounce window."""

    first_seen: float = 0.0
    last_seen: float = 0.0
    arrived: float = 0.0
    folders: dict[str, str] = field(default_factory=dict)  # folder name -> first changed path


class Reloader:
    """Watches the workspace and reloads changed plugins and their dependents."""

    def __init__(self, host: PluginHost) -> None:
        self.host = host
        self._watcher: WorkspaceWatcher | None = None
        self._pending = _Pending()
        self._timer: asyncio.TimerHandle | None = None
        self._watch_lock = asyncio.Lock()
        self._hashes: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- watching ---------------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    async def watch(self) -> None:
        """Start the file watcher on the workspace; emits Watching once it is live."""
        async with self._watch_lock:
            workspace = self.host.workspace
            if self._watcher is not None or workspace is None:
                return
            for record in self.host.records.values():
                if record.source.origin == "workspace":
                    self._hashes[record.id] = content_hash(record.source.folder)
            watcher = WorkspaceWatcher(workspace, asyncio.get_running_loop(), self._on_change)
            await asyncio.to_thread(watcher.start)
            self._watcher = watcher
            self.host.events.emit(Watching(workspace=str(workspace)))

    async def unwatch(self) -> None:
        """Stop the watcher and drop pending changes (a running reload finishes)."""
        async with self._watch_lock:  # never stop a watcher that is still starting
            watcher, self._watcher = self._watcher, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pending = _Pending()
            if watcher is not None:
                await asyncio.to_thread(watcher.stop)
        for task in list(self._tasks):
            await asyncio.shield(task)

    def _on_change(self, relative: tuple[str, ...], seen: float) -> None:
        if self._watcher is None:
            return
        now = time.perf_counter()
        pending = self._pending
        if not pending.folders:
            pending.first_seen, pending.arrived = seen, now
        pending.last_seen = now
        pending.folders.setdefault(relative[0], "/".join(relative))
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(
            self.host.config.debounce, self._on_quiet)

    def _on_quiet(self) -> None:
        self._timer = None
        pending, self._pending = self._pending, _Pending()
        task = asyncio.get_running_loop().create_task(self._apply(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply(self, pending: _Pending) -> None:
        fired = time.perf_counter()
        clock = {"detect": pending.arrived - pending.first_seen,
                 "debounce": fired - pending.last_seen, "origin": pending.first_seen}
        workspace = self.host.workspace
        assert workspace is not None, "file events come only from a watched workspace"
        async with self.host.lock:
            by_folder = {r.source.folder.name: r.id for r in self.host.records.values()
                         if r.source.origin == "workspace"}
            changed: dict[str, str] = {}
            for folder_name, path in pending.folders.items():
                plugin_id = by_folder.get(folder_name)
                folder = workspace / folder_name
                if plugin_id is None:
                    if is_plugin_folder(folder):
                        await self._add_plugin(folder)
                    continue
                if not folder.is_dir() or manifest_in(folder) is None:
                    await self._remove_plugin(plugin_id)
                    continue
                digest = content_hash(folder)
                if digest != self._hashes.get(plugin_id):
                    self._hashes[plugin_id] = digest
                    changed[plugin_id] = path
            if changed:
                await self._reload_many(changed, clock)

    # -- reloading --------------------------------------------------------------------------

    async def reload(self, plugin_id: str, cause: str = "manual") -> bool:
        """Reload ``plugin_id`` and its dependents now; True if it reloaded."""
        if plugin_id not in self.host.records:
            raise KeyError(f"no plugin {plugin_id!r}")
        async with self.host.lock:
            if self.host.records[plugin_id].source.origin == "workspace":
                self._hashes[plugin_id] = content_hash(self.host.records[plugin_id].source.folder)
            results = await self._reload_many({plugin_id: cause}, {"detect": 0.0,
                                                                  "debounce": 0.0})
        return results.get(plugin_id, False)

    def _cascade(self, changed: list[str]) -> dict[str, set[str]]:
        """Reload order -> the plugins in the cascade that caused each one."""
        host = self.host
        causes: dict[str, set[str]] = {pid: set() for pid in changed if pid in host.records}
        stack = list(causes)
        while stack:
            pid = stack.pop()
            for dependent in self._direct_dependents(pid):
                if dependent not in causes:
                    causes[dependent] = set()
                    stack.append(dependent)
                if dependent not in changed:
                    causes[dependent].add(pid)
        position = {pid: i for i, pid in enumerate(host.resolution.order)}
        order = sorted(causes, key=lambda pid: (position.get(pid, len(position)), pid))
        return {pid: causes[pid] for pid in order}

    def _direct_dependents(self, plugin_id: str) -> set[str]:
        host = self.host
        found = set(host.resolution.dependents.get(plugin_id, ()))
        capabilities = host.records[plugin_id].source.manifest.capabilities
        for record in host.records.values():
            if record.id == plugin_id or not capabilities:
                continue
            rules = PermissionSet(record.source.manifest.permissions)
            if any(rules.allows("capability", cap) for cap in capabilities):
                found.add(record.id)
        found |= host.bus.consumers_of(plugin_id)
        return {pid for pid in found if pid in host.records}

    async def _reload_many(self, changed: dict[str, str], clock: dict[str, float]
                           ) -> dict[str, bool]:
        results: dict[str, bool] = {}
        kept_old: set[str] = set()
        for pid, causes in self._cascade(list(changed)).items():
            record = self.host.records.get(pid)
            if record is None or (causes and causes <= kept_old):
                if record is not None:
                    kept_old.add(pid)  # what it depends on kept its old version; so does it
                continue
            cause = changed.get(pid) or f"dependency {', '.join(sorted(causes))} reloaded"
            ok = await self._reload_one(record, cause, clock)
            results[pid] = ok
            if not ok:
                kept_old.add(pid)
        self.host.resolution = resolve([r.source for r in self.host.records.values()])
        return results

    def _fail(self, record: PluginRecord, stage: str, detail: PluginTraceback, cause: str) -> bool:
        self.host.events.emit(ReloadFailed(
            plugin_id=record.id, stage=stage, error=detail.error, traceback=detail.text,
            path=detail.path, line=detail.line, cause=cause))
        return False

    def _new_source(self, record: PluginRecord, cause: str) -> PluginSource | None:
        if record.source.origin != "workspace":
            return record.source  # an installed plugin: its code is re-imported as it is
        try:
            source = load_plugin_folder(record.source.folder)
        except ManifestError as exc:
            first = exc.problems[0]
            self._fail(record, "manifest", PluginTraceback(str(first), str(exc), first.path),
                       cause)
            return None
        if source.id != record.id:
            self._fail(record, "manifest", PluginTraceback(
                f"{source.manifest_path}: id: changed from {record.id!r} to {source.id!r}; "
                "to rename a plugin, remove it and add a new folder", "",
                str(source.manifest_path)), cause)
            return None
        others = [r.source for r in self.host.records.values() if r.id != record.id]
        problem = resolve([*others, source]).failed.get(record.id)
        if problem is not None:
            self._fail(record, "dependencies", PluginTraceback(str(problem), str(problem),
                                                               problem.path), cause)
            return None
        return source

    async def _reload_one(self, record: PluginRecord, cause: str, clock: dict[str, float]) -> bool:
        host, bus = self.host, self.host.bus
        started = time.perf_counter()
        host.events.emit(ReloadStarted(plugin_id=record.id, cause=cause))
        source = self._new_source(record, cause)
        if source is None:
            return False
        old = record.loaded
        if old is None:  # failed or stopped before: a fresh start is the reload
            record.source = source
            purge_modules(modules_under(source.folder, list(sys.modules)))
            drop_bytecode(source.folder)
            if not await host._start(record.id):
                return self._fail(record, "start", record.error
                                  or PluginTraceback(f"{record.id} did not start", ""), cause)
            self._completed(record, cause, clock, started, {})
            return True

        record.status = RELOADING
        try:
            await bus.hold(record.id, drain_timeout=host.config.message_timeout)
        except TimeoutError:
            bus.release(record.id)
            record.status = RUNNING
            return self._fail(record, "drain", PluginTraceback(
                f"messages to {record.id} were still being handled after "
                f"{host.config.message_timeout} s", ""), cause)
        t_unload = time.perf_counter()
        staging = PluginRecord(source)
        old_modules = dict(old.modules)
        try:
            try:
                state = copy.deepcopy(default_state(record, old, bus.connections(record.id)))
            except PLUGIN_ERRORS as exc:
                raise host.failure(record, "on_before_reload", exc) from exc
            purge_modules(old_modules)
            drop_bytecode(source.folder)
            t_unload = time.perf_counter() - t_unload
            t_import = time.perf_counter()
            loaded = await host.instantiate(staging)
            t_import = time.perf_counter() - t_import
            t_init = time.perf_counter()
            old_version = type(old.instance).state_version
            if type(loaded.instance).state_version != old_version:
                try:
                    state = loaded.instance.migrate_state(state, old_version)
                except PLUGIN_ERRORS as exc:
                    raise host.failure(staging, "migrate_state", exc) from exc
            await host.initialize(staging, loaded)
            t_init = time.perf_counter() - t_init
            t_restore = time.perf_counter()
            try:
                await call_plugin(loaded.instance.on_after_reload, state,
                                  timeout=host.config.lifecycle_timeout)
            except PLUGIN_ERRORS as exc:
                await host.cleanup(staging, loaded)
                raise host.failure(staging, "on_after_reload", exc) from exc
            t_restore = time.perf_counter() - t_restore
        except BaseException as exc:  # also cancellation: never leave the gate held
            _swap_back(old_modules, source.folder)
            bus.bind_context(old.context, record.source.manifest)
            bus.release(record.id, manifest=record.source.manifest)
            record.status = RUNNING
            if isinstance(exc, PluginLoadError):
                return self._fail(record, exc.stage, exc.detail, cause)
            raise

        t_cleanup = time.perf_counter()
        cleanup_failure = await host.cleanup(record, old)
        if cleanup_failure is not None:
            old.context.log.warning("cleanup of the old version failed: %s",
                                    cleanup_failure.detail.error)
        record.source, record.loaded, record.status, record.error = source, loaded, RUNNING, None
        bus.release(record.id, loaded.instance, source.manifest, loaded.context.log)
        t_unload += time.perf_counter() - t_cleanup  # the old version's cleanup is unloading
        self._completed(record, cause, clock, started, {
            "unload": t_unload, "import": t_import, "init": t_init, "restore": t_restore})
        return True

    def _completed(self, record: PluginRecord, cause: str, clock: dict[str, float],
                   started: float, split: dict[str, float]) -> None:
        now = time.perf_counter()
        origin = clock.get("origin", started)
        timings = {"detect": clock.get("detect", 0.0), "debounce": clock.get("debounce", 0.0),
                   "unload": 0.0, "import": 0.0, "init": 0.0, "restore": 0.0, **split,
                   "reload": now - started, "total": now - origin}
        self.host.events.emit(ReloadCompleted(plugin_id=record.id,
                                              version=record.source.manifest.version,
                                              cause=cause, timings=timings))

    # -- workspace membership ---------------------------------------------------------------

    async def _add_plugin(self, folder: Path) -> None:
        try:
            source = load_plugin_folder(folder)
        except ManifestError as exc:
            self.host.report_problems(exc.problems)
            return
        if source.id in self.host.records:
            other = self.host.records[source.id].source.folder
            self.host.report_problems([_duplicate(source, other)])
            return
        self.host.records[source.id] = PluginRecord(source)
        self._hashes[source.id] = content_hash(folder)
        await self.host.start_startable()

    async def _remove_plugin(self, plugin_id: str) -> None:
        dependents = self.host.resolution.dependents_of(plugin_id)
        await self.host.remove(plugin_id, dependents)
        self._hashes.pop(plugin_id, None)


def _duplicate(source: PluginSource, other: Path) -> Problem:
    return Problem(str(source.manifest_path), "id",
                   f"duplicate plugin id {source.id!r}: already used by {other} "
                   f"(this one is in {source.folder})")


def _swap_back(old_modules: dict[str, Any], folder: Path) -> None:
    """Undo a failed import: forget half-imported new modules, restore the old ones."""
    purge_modules(modules_under(folder, [n for n in list(sys.modules) if n not in old_modules]))
    sys.modules.update(old_modules)
