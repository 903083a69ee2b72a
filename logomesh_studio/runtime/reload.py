"""Hot reload: batches of file changes, cascade to dependents, carry state, roll back.

Per plugin: hold its messages -> ``on_before_reload()`` -> drop its modules -> import
-> instantiate -> (copy the state if the plugin's own hooks get it) -> ``initialize``
-> ``on_after_reload(state)`` -> deliver the held messages to the new instance ->
cleanup of the old one. The old
instance is cleaned up only once the new one is up, so a failure at any step
leaves the old version running with its state untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logomesh_studio import sdk
from logomesh_studio._collector import collector_paused
from logomesh_studio.runtime.debounce import Batch, SaveDebouncer
from logomesh_studio.runtime.discovery import (
    PluginSource,
    is_plugin_folder,
    load_plugin_folder,
    manifest_in,
)
from logomesh_studio.runtime.events import (
    PermissionsChanged,
    PermissionsStatus,
    ReloadCompleted,
    ReloadFailed,
    ReloadStarted,
    Watching,
)
from logomesh_studio.runtime.manifest import MANIFEST_NAMES, ManifestError, Problem
from logomesh_studio.runtime.permission_changes import (
    ALLOW,
    ASK,
    PermissionChange,
    permission_change,
)
from logomesh_studio.runtime.plugin_files import ContentHasher, drop_bytecode, newest_file
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
    runtime_cancelled,
)
from logomesh_studio.runtime.reload_state import SLOW_COPY_S, copy_state, default_state
from logomesh_studio.runtime.resolver import Resolution, resolve
from logomesh_studio.runtime.security import PermissionSet
from logomesh_studio.runtime.tracebacks import PluginTraceback
from logomesh_studio.runtime.watcher import WorkspaceWatcher

if TYPE_CHECKING:
    from logomesh_studio.runtime.lifecycle import LifecycleHost

STAGES = ("copy", "unload", "import", "init", "restore")
"""The parts of a reload that ``ReloadCompleted.timings`` reports (0 when skipped)."""
SILENT_RETRIES = 3
"""Failed reloads of a plugin whose files are still being written that are retried
quietly, in a row, before the failure is reported all the same."""


class _Stopwatch:
    """Splits the time since it started into named laps."""

    __slots__ = ("started", "laps", "_mark")

    def __init__(self) -> None:
        self.started = self._mark = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> float:
        """Add the time since the previous lap to ``name``; returns that time."""
        now = time.perf_counter()
        took, self._mark = now - self._mark, now
        self.laps[name] = self.laps.get(name, 0.0) + took
        return took


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one reload installs: the new source, with the permissions in force decided."""

    source: PluginSource
    change: PermissionChange = PermissionChange((), (), ())
    status: str = "applied"
    requested: tuple[str, ...] = ()


class Reloader:
    """Watches the workspace and reloads changed plugins and their dependents."""

    def __init__(self, host: LifecycleHost) -> None:
        self.host = host
        self._watcher: WorkspaceWatcher | None = None
        self._debouncer: SaveDebouncer | None = None
        self._watch_lock = asyncio.Lock()
        self._hasher = ContentHasher()
        self._hashes: dict[str, str] = {}
        self._folders: dict[str, Path] = {}  # plugin id -> its folder, followed across moves
        self._requested: dict[str, tuple[str, ...]] = {}  # permissions awaiting approval
        self._plans: dict[str, tuple[object, PluginSource]] = {}
        """Plugin id -> its manifest files' digests when it was last planned, and the
        source that plan installed: valid while the dependency graph is ``_graph``."""
        self._graph: Resolution | None = None
        self._planned: dict[str, object] = {}  # planned afresh in this cascade (see _plan)
        self._retries: dict[str, int] = {}  # plugin id -> failures retried quietly in a row
        self._touched: dict[str, set[str] | None] = {}
        """Plugin id -> the files (relative to its folder) events named since it last
        reloaded from changed files (None: unknown, maybe all)."""

    # -- watching ---------------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    async def watch(self) -> None:
        """Start the file watcher on the workspace; emits Watching once it is live."""
        async with self._watch_lock:
            workspace, config = self.host.workspace, self.host.config
            if self._watcher is not None or workspace is None:
                return
            for record in self.host.records.values():
                if record.source.origin == "workspace":
                    self._folders.setdefault(record.id, record.source.folder)
                    self._hashes[record.id] = self._hasher.digest(record.source.folder)
            debouncer = SaveDebouncer(self._apply, config.settle or 0.0, config.debounce,
                                      config.burst_quiet)
            watcher = WorkspaceWatcher(workspace, asyncio.get_running_loop(), debouncer.post,
                                       debouncer.observed)
            if config.settle is None:
                debouncer.settle = watcher.settle
            await watcher.start()
            debouncer.drain = watcher.drain
            self._watcher, self._debouncer = watcher, debouncer
            for folder in self._folders.values():
                self._follow(folder)
            self.host.events.emit(Watching(workspace=str(workspace)))

    async def unwatch(self) -> None:
        """Stop the watcher and drop pending changes (a running reload finishes)."""
        async with self._watch_lock:  # never stop a watcher that is still starting
            watcher, self._watcher = self._watcher, None
            debouncer, self._debouncer = self._debouncer, None
            if watcher is not None:
                await watcher.stop()
        if debouncer is not None:
            await debouncer.close()

    def _follow(self, folder: Path) -> None:
        """Watch the target of a plugin folder that is a symlink out of the workspace."""
        watcher, workspace = self._watcher, self.host.workspace
        if watcher is None or workspace is None or not folder.is_symlink():
            return
        target = folder.resolve()
        if target.is_dir() and not target.is_relative_to(watcher.root):
            watcher.follow(folder.name, target)

    async def _apply(self, batch: Batch) -> bool:
        """Apply one batch of file changes: moves, removals, additions, then reloads.
        False if it changed nothing (e.g. an editor's temporary file, or no new content)."""
        workspace = self.host.workspace
        if workspace is None:
            return False
        clock = {"detect": batch.arrived - batch.first_seen,
                 "save": batch.last_seen - batch.arrived,  # the file still being written
                 "debounce": time.perf_counter() - batch.last_seen, "origin": batch.first_seen}
        async with self.host.lock:
            by_folder = {folder.name: pid for pid, folder in self._folders.items()
                         if pid in self.host.records}
            gone: dict[str, str] = {}  # plugin id -> its folder's name, no longer a plugin
            added: list[Path] = []
            changed: dict[str, str] = {}  # plugin id -> cause
            for name in batch.paths:
                plugin_id, folder = by_folder.get(name), workspace / name
                if plugin_id is None:
                    if is_plugin_folder(folder):
                        added.append(folder)
                elif not self._holds_manifest(plugin_id, folder):
                    gone[plugin_id] = name
                elif self._changed(plugin_id, folder, _under(name, batch.paths[name])):
                    changed[plugin_id] = self._cause(batch, name, workspace)
            for plugin_id, folder in self._moves(gone, added).items():
                changed[plugin_id] = f"{gone.pop(plugin_id)} moved to {folder.name}"
                added.remove(folder)
                self._hasher.forget(self._folders[plugin_id])
                self._folders[plugin_id] = folder
                self._changed(plugin_id, folder)
                self._unfollow(plugin_id)
                self._follow(folder)
            for plugin_id in gone:
                await self._remove_plugin(plugin_id)
            for folder in added:
                await self._add_plugin(folder)
            if changed:
                await self._reload_many(changed, clock)
        return bool(changed or gone or added)

    def _holds_manifest(self, plugin_id: str, folder: Path) -> bool:
        """True if ``folder`` (where ``plugin_id`` lives) still has a manifest: the file
        the plugin was loaded from is looked for first (one stat)."""
        loaded_from = self.host.records[plugin_id].source.manifest_path.name
        return os.path.isfile(os.path.join(folder, loaded_from)) or (
            folder.is_dir() and manifest_in(folder) is not None)

    @staticmethod
    def _cause(batch: Batch, name: str, workspace: Path) -> str:
        """The file to name as the reason folder ``name`` reloads."""
        root = str(workspace)

        def exists(path: str) -> bool:
            return os.path.isfile(os.path.join(root, path))

        cause = batch.cause(name, exists)
        if exists(cause):
            return cause
        # The content changed, but the file the batch knows of is gone: an editor's
        # temporary file renamed onto the real one after the batch was taken (the
        # rename's event is still on its way). The newest file is the one saved.
        newest = newest_file(workspace / name)
        return newest.relative_to(workspace).as_posix() if newest is not None else cause

    def _changed(self, plugin_id: str, folder: Path, named: set[str] | None = None) -> bool:
        """Record ``folder``'s content hash; True if it differs from the last one.
        ``named``: the paths under ``folder`` that file events named (None: all)."""
        digest = self._hasher.digest(folder, named)
        if digest == self._hashes.get(plugin_id):
            return False
        self._hashes[plugin_id] = digest
        touched = self._touched.get(plugin_id, set())
        self._touched[plugin_id] = touched | named if named and touched is not None else None
        return True

    def _moves(self, gone: dict[str, str], added: list[Path]) -> dict[str, Path]:
        """Folders that appeared with the id of a plugin whose folder disappeared: the
        plugin was moved (renamed), not replaced, and keeps its state."""
        moves = {}
        for folder in added:
            try:
                plugin_id = load_plugin_folder(folder).id
            except ManifestError:
                continue
            if plugin_id in gone and plugin_id not in moves:
                moves[plugin_id] = folder
        return moves

    # -- reloading --------------------------------------------------------------------------

    async def reload(self, plugin_id: str, cause: str = "manual") -> bool:
        """Reload ``plugin_id`` and its dependents now; True if it reloaded."""
        if plugin_id not in self.host.records:
            raise KeyError(f"no plugin {plugin_id!r}")
        async with self.host.lock:
            record = self.host.records[plugin_id]
            if record.source.origin == "workspace":
                self._hashes[plugin_id] = self._hasher.digest(self._folder(record))
            results = await self._reload_many({plugin_id: cause}, {})
        return results.get(plugin_id, False)

    def _folder(self, record: PluginRecord) -> Path:
        return self._folders.get(record.id, record.source.folder)

    def _cascade(self, changed: list[str]) -> list[tuple[str, set[str]]]:
        """The plugins to reload in topological order over every kind of dependency
        (manifest, capability, observed traffic), each with its upstream in the cascade."""
        upstream: dict[str, set[str]] = {pid: set() for pid in changed
                                         if pid in self.host.records}
        stack = list(upstream)
        while stack:
            pid = stack.pop()
            for dependent in self._direct_dependents(pid):
                if dependent not in upstream:
                    upstream[dependent] = set()
                    stack.append(dependent)
                upstream[dependent].add(pid)
        position = {pid: i for i, pid in enumerate(self.host.resolution.order)}
        return [(pid, upstream[pid]) for pid in _topological(upstream, position)]

    def _direct_dependents(self, plugin_id: str) -> set[str]:
        host = self.host
        found = set(host.resolution.dependents.get(plugin_id, ()))
        capabilities = host.records[plugin_id].source.manifest.capabilities
        for record in host.records.values() if capabilities else ():
            rules = PermissionSet(record.source.manifest.permissions)
            if any(rules.allows("capability", cap) for cap in capabilities):
                found.add(record.id)
        found |= host.bus.consumers_of(plugin_id)
        found.discard(plugin_id)
        return {pid for pid in found if pid in host.records}

    async def _reload_many(self, changed: dict[str, str], clock: dict[str, float]
                           ) -> dict[str, bool]:
        """Reload the changed plugins and their dependents in order; a dependent reloads
        only for an upstream plugin that reloaded (none below a failed reload). No
        cyclic garbage collection meanwhile: the modules, classes and functions a reload
        makes set collections off, one in five saves of a 10-deep cascade, each a few
        ms; the garbage is collected as usual once the plugins run the new code."""
        with collector_paused():
            return await self._reload_in_order(changed, clock)

    async def _reload_in_order(self, changed: dict[str, str], clock: dict[str, float]
                               ) -> dict[str, bool]:
        results: dict[str, bool] = {}
        replaced: list[str] = []  # plugins now running from a new source
        self._planned.clear()
        for pid, upstream in self._cascade(list(changed)):
            record = self.host.records.get(pid)
            if record is None:
                continue
            cause = changed.get(pid)
            if cause is None:
                reloaded = sorted(u for u in upstream if results.get(u))
                if not reloaded:
                    continue
                cause = f"dependency {', '.join(reloaded)} reloaded"
            source = record.source
            results[pid] = await self._reload_one(record, cause, clock, pid in changed)
            if record.source is not source:
                replaced.append(pid)
        if replaced:  # else the graph is the same: no need to resolve it again
            self.host.resolution = resolve([r.source for r in self.host.records.values()])
            self._remember_plan(replaced)
        return results

    def _remember_plan(self, replaced: list[str]) -> None:
        """Keep the plan of the one plugin a cascade gave a new source: it was checked
        against the graph just resolved. (With several, each was checked against a
        graph that the others changed afterwards.)"""
        self._graph, self._plans = self.host.resolution, {}
        pid = replaced[0]
        key = self._planned.get(pid)
        if len(replaced) == 1 and key is not None:
            self._plans[pid] = (key, self.host.records[pid].source)

    async def _reload_one(self, record: PluginRecord, cause: str, clock: dict[str, float],
                          changed: bool = True) -> bool:
        """Reload one plugin; ``changed``: its files changed (else it only follows an
        upstream reload: its manifest and bytecode are still good)."""
        watch = _Stopwatch()
        self.host.events.emit(ReloadStarted(plugin_id=record.id, cause=cause))
        plan = self._plan(record, cause) if changed else _Plan(record.source)
        if plan is None:
            return False
        if record.loaded is None:  # failed or stopped before: a fresh start is the reload
            if not await self._fresh_start(record, plan, cause):
                return False
        else:
            outcome = await self._reload_in_child(record, plan, changed, watch)
            if isinstance(outcome, PluginLoadError):
                return self._fail(record, outcome.stage, outcome.detail, cause)
            if outcome is None:
                loaded = await self._stage(record, plan, cause, watch, changed)
                if loaded is None:
                    return False
                await self._commit(record, plan, loaded, watch)
        self._permissions_settled(record, plan)
        self._completed(record, cause, clock, watch)
        return True

    async def _reload_in_child(self, record: PluginRecord, plan: _Plan, changed: bool,
                               watch: _Stopwatch) -> PluginLoadError | bool | None:
        """An isolated plugin reloads in its own process (see isolation/reloading.py):
        True if it did, its failure, or None when a fresh process must be staged."""
        if record.source.manifest.isolation != "process":
            return None
        from logomesh_studio.runtime.isolation.reloading import (
            InChild,
            reload_in_child,
            reloads_in_child,
        )

        if not reloads_in_child(record, plan.source):
            return None
        outcome = await reload_in_child(self.host, record, plan.source, changed)
        watch.lap("import")
        if isinstance(outcome, PluginLoadError):
            return outcome
        return True if outcome is InChild.RELOADED else None

    def _plan(self, record: PluginRecord, cause: str) -> _Plan | None:
        """The new source, or None (failure reported) if its manifest cannot be used."""
        if record.source.origin != "workspace":
            return _Plan(record.source)  # an installed plugin: its code is re-imported as it is
        folder = self._folder(record)
        key = (str(folder), self._hasher.file_digests(folder, MANIFEST_NAMES))
        known = self._plans.get(record.id)
        if (known is not None and known[0] == key and known[1] is record.source
                and self._graph is self.host.resolution and record.id not in self._requested):
            return _Plan(record.source)  # same manifest, same graph: the same plan
        try:
            source = load_plugin_folder(folder)
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
        requested = tuple(source.manifest.permissions)
        change = permission_change(record.source.manifest.permissions, requested)
        policy = self.host.config.permission_changes
        if not change.widened or policy == ALLOW:
            if not change:
                self._planned[record.id] = key
            return _Plan(source, change, "applied", requested)
        granted = [p for p in requested if p not in change.widened]
        kept = dataclasses.replace(
            source, manifest=source.manifest.model_copy(update={"permissions": granted}))
        return _Plan(kept, change, "pending" if policy == ASK else "refused", requested)

    async def _fresh_start(self, record: PluginRecord, plan: _Plan, cause: str) -> bool:
        record.source = plan.source
        purge_modules(modules_under(plan.source.folder, list(sys.modules)))
        drop_bytecode(plan.source.folder)
        if not await self.host.start_locked(record.id):
            return self._fail(record, "start", record.error
                              or PluginTraceback(f"{record.id} did not start", ""), cause)
        return True

    async def _stage(self, record: PluginRecord, plan: _Plan, cause: str, watch: _Stopwatch,
                     changed: bool) -> LoadedPlugin | None:
        """Hold the plugin's messages and bring the new version up beside the old one,
        with the old state; on failure the old version is back in place (None)."""
        host, bus, old = self.host, self.host.bus, record.loaded
        assert old is not None
        record.status = RELOADING
        try:
            await bus.hold(record.id, drain_timeout=host.config.message_timeout)
        except TimeoutError:
            bus.release(record.id)
            record.status = RUNNING
            self._fail(record, "drain", PluginTraceback(
                f"messages to {record.id} were still being handled after "
                f"{host.config.message_timeout} s", ""), cause)
            return None
        watch.lap("drain")
        staging = PluginRecord(plan.source)
        old_modules = dict(old.modules)
        try:
            with self._plugin_code(record, "on_before_reload"):
                state = default_state(old, bus.connections(record.id))
            purge_modules(old_modules)
            if changed:  # only the named files' bytecode, if events named them all
                drop_bytecode(plan.source.folder, self._touched.pop(record.id, None))
            else:
                host.lifecycle.importer.unchanged(plan.source)
            watch.lap("unload")
            loaded = await host.lifecycle.instantiate(staging)
            watch.lap("import")
            state = self._carried_state(staging, old, loaded, state, watch)
            await host.lifecycle.initialize(staging, loaded)
            watch.lap("init")
            try:
                await call_plugin(loaded.instance.on_after_reload, state,
                                  timeout=host.config.lifecycle_timeout)
            except PLUGIN_ERRORS as exc:
                await host.lifecycle.cleanup(staging, loaded)
                raise host.lifecycle.failure(staging, "on_after_reload", exc) from exc
            watch.lap("restore")
        except BaseException as exc:  # also cancellation: never leave the gate held
            _swap_back(old_modules, plan.source.folder)
            bus.bind_context(old.context, record.source.manifest)
            bus.release(record.id, manifest=record.source.manifest)
            record.status = RUNNING
            if isinstance(exc, PluginLoadError):
                self._fail(record, exc.stage, exc.detail, cause)
                return None
            raise
        return loaded

    def _carried_state(self, staging: PluginRecord, old: LoadedPlugin, loaded: LoadedPlugin,
                       state: dict[str, Any], watch: _Stopwatch) -> dict[str, Any]:
        """The state the new version restores. With the default hooks on both sides it
        is the old objects themselves: the default restore only reads them, so the old
        version still has them intact if the reload fails, and a big state costs no
        copy. Otherwise a copy (hooks of a plugin's own may change what they get),
        migrated when ``state_version`` changed."""
        old_type, new_type = type(old.instance), type(loaded.instance)
        migrate = new_type.state_version != old_type.state_version
        if migrate or not (_default_hook(old_type, "on_before_reload")
                           and _default_hook(new_type, "on_after_reload")):
            with self._plugin_code(staging, "on_before_reload"):
                state = copy_state(state)  # may run the plugin's __reduce__/__deepcopy__
            took = watch.lap("copy")
            if took > SLOW_COPY_S:
                old.context.log.warning(
                    "copying the reload state took %.2f s, during which no plugin ran; keep "
                    "bulky data out of what on_before_reload returns", took)
        if migrate:
            with self._plugin_code(staging, "migrate_state"):
                state = loaded.instance.migrate_state(state, old_type.state_version)
        return state

    @contextlib.contextmanager
    def _plugin_code(self, record: PluginRecord, stage: str) -> Iterator[None]:
        """Around plugin code the reload calls directly (not through ``call_plugin``):
        whatever it raises, a BaseException of its own included, fails ``stage`` of
        ``record`` as a PluginLoadError (the reload rolls back); only a cancellation of
        the runtime's own goes on as it is."""
        try:
            yield
        except BaseException as exc:
            if runtime_cancelled(exc):
                raise
            raise self.host.lifecycle.failure(record, stage, exc) from exc

    async def _commit(self, record: PluginRecord, plan: _Plan, loaded: LoadedPlugin,
                      watch: _Stopwatch) -> None:
        """Route to the new version, then clean the old one up. The held messages go
        first: a slow or hanging old ``cleanup`` must not make them wait."""
        old = record.loaded
        assert old is not None
        record.source, record.loaded, record.status, record.error = (
            plan.source, loaded, RUNNING, None)
        self.host.bus.release(record.id, loaded.instance, plan.source.manifest,
                              loaded.context.log)
        watch.lap("restore")
        failure = await self.host.lifecycle.cleanup(record, old)
        if failure is not None:
            old.context.log.warning("cleanup of the old version failed: %s",
                                    failure.detail.error)
        watch.lap("unload")  # the old version's cleanup is unloading

    def _fail(self, record: PluginRecord, stage: str, detail: PluginTraceback, cause: str
              ) -> bool:
        debouncer, folder = self._debouncer, self._folder(record)
        retries = self._retries.get(record.id, 0)
        if debouncer is not None and record.source.origin == "workspace" and (
                retries < SILENT_RETRIES) and (
                debouncer.changing(folder.name) or self._hasher.written_since(folder)):
            # Its files are still being written: likely a half-written file. The batch
            # that follows once they settle reloads it again (even if the hash matches).
            # (A write's event may still be on its way: the files' stats tell at once.)
            # Not for ever: a plugin that keeps writing its own folder would hide it.
            self._retries[record.id] = retries + 1
            self._hashes.pop(record.id, None)
            return False
        self._retries.pop(record.id, None)
        self.host.events.emit(ReloadFailed(
            plugin_id=record.id, stage=stage, error=detail.error, traceback=detail.text,
            path=detail.path, line=detail.line, cause=cause))
        return False

    def _completed(self, record: PluginRecord, cause: str, clock: dict[str, float],
                   watch: _Stopwatch) -> None:
        self._retries.pop(record.id, None)
        now = time.perf_counter()
        timings = {"detect": clock.get("detect", 0.0), "save": clock.get("save", 0.0),
                   "debounce": clock.get("debounce", 0.0),
                   **dict.fromkeys(STAGES, 0.0),
                   **{k: v for k, v in watch.laps.items() if k in STAGES},
                   "reload": now - watch.started,
                   "total": now - clock.get("origin", watch.started)}
        self.host.events.emit(ReloadCompleted(plugin_id=record.id,
                                              version=record.source.manifest.version,
                                              cause=cause, timings=timings))

    # -- permissions ------------------------------------------------------------------------

    def _permissions_settled(self, record: PluginRecord, plan: _Plan) -> None:
        """Announce what the reload did to the plugin's permissions."""
        change, pid = plan.change, record.id
        if plan.status == PermissionsStatus.PENDING:
            self._requested[pid] = plan.requested
        elif self._requested.pop(pid, None) is not None and not change:
            self._announce(pid, PermissionChange((), (), ()), "withdrawn")
        if change:
            self._announce(pid, change, plan.status)

    def _announce(self, plugin_id: str, change: PermissionChange, status: str) -> None:
        granted = tuple(self.host.records[plugin_id].source.manifest.permissions)
        self.host.events.emit(PermissionsChanged(
            plugin_id=plugin_id, added=change.added, removed=change.removed,
            widened=change.widened, status=status, granted=granted))

    def pending_permissions(self) -> dict[str, tuple[str, ...]]:
        """Plugin id -> the permissions its manifest asks for, awaiting approval."""
        return dict(self._requested)

    async def decide_permissions(self, plugin_id: str, approve: bool) -> None:
        """Approve (or reject) the widened permissions ``plugin_id`` waits for."""
        async with self.host.lock:
            requested = self._requested.pop(plugin_id, None)
            record = self.host.records.get(plugin_id)
            if requested is None or record is None:
                raise KeyError(f"{plugin_id!r} has no permission change awaiting approval")
            change = permission_change(record.source.manifest.permissions, requested)
            if approve:
                manifest = record.source.manifest.model_copy(
                    update={"permissions": list(requested)})
                record.source = dataclasses.replace(record.source, manifest=manifest)
                if record.loaded is not None:
                    self.host.bus.grant(plugin_id, list(requested))
            self._announce(plugin_id, change, "approved" if approve else "rejected")

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
        self._folders[source.id] = folder
        self._hashes[source.id] = self._hasher.digest(folder)
        self._follow(folder)
        await self.host.start_startable()

    async def _remove_plugin(self, plugin_id: str) -> None:
        dependents = self.host.resolution.dependents_of(plugin_id)
        await self.host.remove(plugin_id, dependents)
        self._unfollow(plugin_id)
        self._hashes.pop(plugin_id, None)
        self._touched.pop(plugin_id, None)
        folder = self._folders.pop(plugin_id, None)
        if folder is not None:
            self._hasher.forget(folder)
        self._requested.pop(plugin_id, None)

    def _unfollow(self, plugin_id: str) -> None:
        folder = self._folders.get(plugin_id)
        if self._watcher is not None and folder is not None:
            self._watcher.unfollow(folder.name)


def _under(folder: str, paths: list[str]) -> set[str]:
    """``paths`` (relative to the workspace) that lie inside ``folder``, relative to it;
    none if ``folder`` itself is named (it was made, moved in, or events were lost:
    every file must be checked)."""
    if folder in paths:
        return set()
    start = len(folder) + 1
    return {p[start:] for p in paths if len(p) > start}


def _default_hook(cls: type[sdk.Plugin], name: str) -> bool:
    """True if ``cls`` inherits the SDK's own ``name`` hook."""
    return getattr(cls, name) is getattr(sdk.Plugin, name)


def _topological(upstream: dict[str, set[str]], position: dict[str, int]) -> list[str]:
    """``upstream``'s keys, each after its upstream ones; ties (and cycles, which observed
    traffic can form) are broken by load order, then id."""
    def key(pid: str) -> tuple[int, str]:
        return position.get(pid, len(position)), pid

    waiting = {pid: len(ups & upstream.keys()) for pid, ups in upstream.items()}
    downstream: dict[str, list[str]] = {}
    for pid, ups in upstream.items():
        for up in ups:
            downstream.setdefault(up, []).append(pid)
    ready = [key(pid) for pid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while len(order) < len(upstream):
        if not ready:  # a cycle: start it at its first plugin in load order
            heapq.heappush(ready, min(key(p) for p, n in waiting.items() if n > 0))
        pid = heapq.heappop(ready)[1]
        if waiting.get(pid, -1) < 0:
            continue
        waiting[pid] = -1
        order.append(pid)
        for down in downstream.get(pid, ()):
            if waiting[down] > 0:
                waiting[down] -= 1
                if waiting[down] == 0:
                    heapq.heappush(ready, key(down))
    return order


def _duplicate(source: PluginSource, other: Path) -> Problem:
    return Problem(str(source.manifest_path), "id",
                   f"duplicate plugin id {source.id!r}: already used by {other} "
                   f"(this one is in {source.folder})")


def _swap_back(old_modules: dict[str, Any], folder: Path) -> None:
    """Undo a failed import: forget half-imported new modules, restore the old ones."""
    purge_modules(modules_under(folder, [n for n in list(sys.modules) if n not in old_modules]))
    sys.modules.update(old_modules)
