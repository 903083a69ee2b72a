"""The lifecycle steps of one plugin version: import, instantiate, initialize, cleanup.

Shared by the host (start, stop) and the reloader (which stages a new version next to
the running one), so neither needs the other for them. A step that fails raises (or,
for cleanup, returns) a :class:`PluginLoadError` naming the stage, with a traceback
trimmed to the plugin's own files; :meth:`Lifecycle.mark_failed` records and
announces it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from logomesh_studio import sdk
from logomesh_studio.runtime.bus import CommunicationBridge
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import EventHub, LogRecorded, PluginFailed
from logomesh_studio.runtime.imports import ModuleConflict, PluginImporter, added_since
from logomesh_studio.runtime.manifest import Problem
from logomesh_studio.runtime.plugin_record import (
    FAILED,
    PLUGIN_ERRORS,
    LoadedPlugin,
    PluginLoadError,
    PluginRecord,
    call_plugin,
    modules_under,
    purge_modules,
    raised_by_plugin,
    runtime_cancelled,
)
from logomesh_studio.runtime.resolver import Resolution
from logomesh_studio.runtime.tracebacks import PluginTraceback, plugin_traceback
from logomesh_studio.runtime.watchdog import LifecycleGuard, LifecycleWatchdog

__all__ = ["Lifecycle", "LifecycleHost"]

_FORMATTER = logging.Formatter()
_PLUGIN_ATTR = "logomesh_plugin"


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


class _PluginStamp(logging.Filter):
    """Marks a plugin logger's records with the plugin's id (a filter, unlike a handler,
    is not registered process-wide)."""

    def __init__(self, plugin_id: str) -> None:
        super().__init__()
        self.plugin_id = plugin_id

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, _PLUGIN_ATTR, self.plugin_id)
        return True


class Lifecycle:
    """Runs plugin code's lifecycle calls for one host, contained and watched.

    All coroutine methods run on the runtime's asyncio loop.
    """

    def __init__(self, config: RuntimeConfig, events: EventHub, bus: CommunicationBridge,
                 importer: PluginImporter, watchdog: LifecycleWatchdog) -> None:
        self.config = config
        self.events = events
        self.bus = bus
        self.importer = importer
        self.watchdog = watchdog
        self._log_handler = _EventLogHandler(events)
        self.isolate: Callable[[PluginRecord], sdk.Plugin] | None = None
        """Makes the stand-in of a plugin with ``isolation = "process"`` (the host's)."""

    def failure(self, record: PluginRecord, stage: str, exc: BaseException) -> PluginLoadError:
        """``exc`` raised by plugin code at ``stage``, as a PluginLoadError with a trimmed
        traceback."""
        return PluginLoadError(record.id, stage,
                               plugin_traceback(raised_by_plugin(exc), record.source.folder))

    def mark_failed(self, record: PluginRecord, stage: str, detail: PluginTraceback) -> None:
        """Mark ``record`` failed at ``stage`` and announce it (PluginFailed)."""
        record.status = FAILED
        record.error = detail
        record.failed_stage = stage
        self.events.emit(PluginFailed(plugin_id=record.id, stage=stage, error=detail.error,
                                      traceback=detail.text, path=detail.path, line=detail.line))

    def guard(self, record: PluginRecord, stage: str) -> LifecycleGuard:
        """The watchdog's guard for one lifecycle call of ``record`` (see watchdog.py)."""
        return self.watchdog.guard(record.id, stage, record.source.folder,
                                   self.config.lifecycle_timeout)

    def new_context(self, record: PluginRecord) -> sdk.PluginContext:
        """A fresh context for ``record``, logging into the event hub."""
        logger = logging.Logger(f"logomesh.plugin.{record.id}", logging.DEBUG)
        logger.addFilter(_PluginStamp(record.id))
        logger.addHandler(self._log_handler)
        # A deep copy: the manifest is shared (load_manifest caches it while the file is
        # unchanged), so what a plugin does to its config must not reach the next version.
        return sdk.PluginContext(record.id, copy.deepcopy(record.source.manifest.config),
                                 logger)

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

    async def instantiate(self, record: PluginRecord) -> LoadedPlugin:
        """Import and construct the plugin (not yet initialized); raises PluginLoadError.
        An isolated plugin gets its stand-in here; its process starts in ``initialize``."""
        if record.source.manifest.isolation == "process" and self.isolate is not None:
            return LoadedPlugin(self.isolate(record), self.new_context(record))
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


class LifecycleHost(Protocol):
    """What the reloader needs of the host it reloads plugins in (PluginHost is one):
    the plugin table, the lock for lifecycle changes, and these steps."""

    workspace: Path | None
    config: RuntimeConfig
    events: EventHub
    bus: CommunicationBridge
    records: dict[str, PluginRecord]
    resolution: Resolution
    lock: asyncio.Lock
    lifecycle: Lifecycle

    async def start_locked(self, plugin_id: str) -> bool:
        """Import, instantiate and initialize a plugin; the caller holds ``lock``."""

    async def start_startable(self) -> list[str]:
        """Start plugins that can start now (after a folder was added)."""

    async def remove(self, plugin_id: str, dependents: list[str]) -> None:
        """Unload a plugin whose folder is gone, and stop its dependents."""

    def report_problems(self, problems: list[Problem]) -> None:
        """Record and announce manifest problems."""
