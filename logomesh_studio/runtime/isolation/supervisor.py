"""Crash survival for isolated plugins: restart with backoff, give up after a streak.

When a plugin's process ends unasked, its calls in flight have already failed with
:class:`~logomesh_studio.sdk.PluginCrashed`; the supervisor reports ``plugin_failed``
(stage ``crashed``) and starts a fresh process after a backoff, while senders wait for
it (within their timeout). After :data:`MAX_CRASHES` crashes within
:data:`CRASH_WINDOW` seconds the plugin stays failed until the user starts it again.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logomesh_studio import sdk
from logomesh_studio.runtime.events import (
    Event,
    PluginFailed,
    PluginLoaded,
    PluginStopped,
    ReloadCompleted,
)
from logomesh_studio.runtime.isolation.proxy import ChildSpec, IsolatedPlugin, launch
from logomesh_studio.runtime.manifest import Limits
from logomesh_studio.runtime.plugin_record import (
    FAILED,
    LOADING,
    PLUGIN_ERRORS,
    RUNNING,
    PluginLoadError,
    PluginRecord,
    call_plugin,
)
from logomesh_studio.runtime.tracebacks import PluginTraceback
from logomesh_studio.runtime.workspace_state import STATE_DIR, state_dir

if TYPE_CHECKING:
    from logomesh_studio.runtime.host import PluginHost

MAX_CRASHES = 3
CRASH_WINDOW = 300.0
BACKOFF = (0.0, 0.25, 1.0)
"""Seconds before the restart after the 1st, 2nd, ... crash of a streak."""
STAGE = "crashed"
_PROVIDERS_CHANGE = frozenset({PluginLoaded, PluginStopped, ReloadCompleted})
"""Events after which isolated plugins get a new providers table."""


def data_dir(workspace: Path | None, plugin_id: str) -> Path:
    """The folder an isolated plugin may write: ``<workspace>/.logomesh/data/<id>`` (or
    under the user's data folder for a read-only workspace: ``workspace_state``)."""
    if workspace is None:
        return Path(tempfile.gettempdir()) / STATE_DIR / "data" / plugin_id
    return state_dir(workspace) / "data" / plugin_id


class Supervisor:
    """Creates the host's isolated plugins and restarts them when they crash.

    It keeps one warm spare process (started, SDK imported, waiting for its boot frame),
    so a start or a restart does not wait for Python to start: each plugin that takes
    the spare has the next one started behind it.
    """

    def __init__(self, host: PluginHost) -> None:
        self.host = host
        self._crashes: dict[str, collections.deque[float]] = {}
        self._spare: tuple[subprocess.Popen[bytes], socket.socket] | None = None
        self._plugins: weakref.WeakSet[IsolatedPlugin] = weakref.WeakSet()
        self._unsubscribe = host.events.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        """Plugins came or went: isolated plugins get the new providers table (their
        ``ctx.providers()`` answers from it, as it cannot wait for the runtime)."""
        if type(event) in _PROVIDERS_CHANGE and self._plugins:  # on every event: kept cheap
            table = self._providers()
            for plugin in list(self._plugins):
                plugin.update_providers(table)

    def _launch(self) -> tuple[subprocess.Popen[bytes], socket.socket]:
        spare, self._spare = self._spare, None
        if spare is None or spare[0].poll() is not None:
            if spare is not None:
                spare[1].close()
            spare = launch()
        try:
            self._spare = launch()
        except OSError:  # no spare this time; the next start tries again
            self._spare = None
        return spare

    def close(self) -> None:
        """End the spare process (the host is shutting down)."""
        self._unsubscribe()
        spare, self._spare = self._spare, None
        if spare is not None:
            spare[1].close()  # it exits at the end of its channel
            spare[0].wait()

    def create(self, record: PluginRecord) -> IsolatedPlugin:
        """The stand-in for ``record``'s plugin (its process starts in ``initialize``)."""
        source, host = record.source, self.host
        manifest = source.manifest
        folder = data_dir(host.workspace, record.id)
        folder.mkdir(parents=True, exist_ok=True)
        spec = ChildSpec(plugin_id=record.id, folder=source.folder,
                         import_root=source.import_root, entry=manifest.entry,
                         data_dir=folder, config=dict(manifest.config),
                         limits=manifest.limits or Limits())
        self._crashes.pop(record.id, None)  # a start by the user ends a crash streak
        plugin = IsolatedPlugin(spec, host.events, self._crashed, self._providers, self._launch)
        self._plugins.add(plugin)
        return plugin

    async def record_profiles(self, seconds: float, interval: float = 0.001
                              ) -> dict[str, Any]:
        """Profile every running isolated plugin in its process at once: plugin id ->
        speedscope JSON (a plugin whose process could not be profiled is left out)."""
        plugins = {pid: r.loaded.instance for pid, r in self.host.records.items()
                   if r.loaded is not None and isinstance(r.loaded.instance, IsolatedPlugin)}
        results = await asyncio.gather(*(p.record_profile(seconds, interval)
                                         for p in plugins.values()), return_exceptions=True)
        return {pid: result for pid, result in zip(plugins, results, strict=True)
                if not isinstance(result, BaseException)}

    async def debug_address(self, plugin_id: str) -> tuple[str, int]:
        """Where isolated plugin ``plugin_id``'s process serves the Debug Adapter
        Protocol (127.0.0.1 and a free port): attach Studio or VS Code there."""
        record = self.host.records.get(plugin_id)
        plugin = record.loaded.instance if record is not None and record.loaded else None
        if not isinstance(plugin, IsolatedPlugin):
            raise KeyError(f"{plugin_id!r} is not a running isolated plugin")
        return await plugin.debug_address()

    @staticmethod
    def state(instance: sdk.Plugin) -> dict[str, Any]:
        """``PluginInfo`` fields of an isolated plugin: its sandbox report and process."""
        if not isinstance(instance, IsolatedPlugin):
            return {}
        return {"sandbox": dict(instance.sandbox), "pid": instance.pid}

    def _providers(self) -> dict[str, list[str]]:
        bus = self.host.bus
        capabilities = {c for r in self.host.records.values()
                        for c in r.source.manifest.capabilities}
        return {c: bus.providers(c) for c in sorted(capabilities)}

    def _crashed(self, plugin: IsolatedPlugin, crash: sdk.PluginCrashed) -> None:
        host = self.host
        record = host.records.get(plugin.spec.plugin_id)
        if record is None or record.loaded is None or record.loaded.instance is not plugin:
            return
        now = time.monotonic()
        streak = self._crashes.setdefault(record.id, collections.deque())
        while streak and now - streak[0] > CRASH_WINDOW:
            streak.popleft()
        streak.append(now)
        host.events.emit(PluginFailed(plugin_id=record.id, stage=STAGE, error=str(crash),
                                      path=str(record.source.manifest_path)))
        if len(streak) >= MAX_CRASHES:
            plugin.give_up(crash)
            self._stay_failed(record, f"{crash} ({len(streak)} crashes within "
                              f"{CRASH_WINDOW / 60:g} minutes: not restarted; start it again "
                              "once fixed)")
            return
        record.status = LOADING
        plugin.await_restart()
        delay = BACKOFF[min(len(streak), len(BACKOFF)) - 1]
        asyncio.get_running_loop().create_task(self._restart(record, plugin, crash, delay))

    async def _restart(self, record: PluginRecord, plugin: IsolatedPlugin,
                       crash: sdk.PluginCrashed, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        host = self.host
        async with host.lock:
            if record.loaded is None or record.loaded.instance is not plugin:
                plugin.give_up(crash)
                return
            started = time.perf_counter()
            try:
                await call_plugin(plugin.spawn, timeout=host.config.lifecycle_timeout)
            except PLUGIN_ERRORS as exc:
                plugin.give_up(crash)
                plugin.kill()
                reason = (exc.detail.error if isinstance(exc, PluginLoadError)
                          else f"{type(exc).__name__}: {exc}")
                self._stay_failed(record, f"{crash}; the restart failed: {reason}")
                return
            record.status = RUNNING
            host.events.emit(PluginLoaded(plugin_id=record.id,
                                          version=record.source.manifest.version,
                                          folder=str(record.source.folder),
                                          seconds=time.perf_counter() - started))

    def _stay_failed(self, record: PluginRecord, error: str) -> None:
        host = self.host
        loaded, record.loaded = record.loaded, None
        host.bus.detach(record.id)
        if loaded is not None:
            sdk._unbind(loaded.context)
        record.status, record.failed_stage = FAILED, STAGE
        record.error = PluginTraceback(error, "", str(record.source.manifest_path))
        host.events.emit(PluginStopped(plugin_id=record.id, reason=error))
