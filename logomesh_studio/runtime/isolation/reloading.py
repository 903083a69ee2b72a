"""Hot reload of an isolated plugin: in its own process first, a fresh one if need be.

The runtime's watcher tells the plugin's process to reload (see ``_Child._reload``):
it runs the usual hooks and rolls back to the old version, state and modules on any
failure, as the in-process reload does. A process that cannot do it (wedged past the
lifecycle timeout, or gone), or a manifest change that needs a new process (its
entry, configuration or limits), leaves the reload to the reloader's staging path: a
fresh process restores the last good state snapshot, which must be JSON.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import TYPE_CHECKING

from logomesh_studio import sdk
from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.isolation.proxy import IsolatedPlugin
from logomesh_studio.runtime.plugin_files import drop_bytecode
from logomesh_studio.runtime.plugin_record import RELOADING, RUNNING, PluginLoadError, PluginRecord
from logomesh_studio.runtime.tracebacks import PluginTraceback

if TYPE_CHECKING:
    from logomesh_studio.runtime.lifecycle import LifecycleHost


class InChild(Enum):
    """How a reload in the plugin's process ended."""

    RELOADED = "reloaded"
    NEEDS_PROCESS = "needs a fresh process"


def reloads_in_child(record: PluginRecord, source: PluginSource) -> bool:
    """True if ``record``'s plugin is isolated and stays isolated in ``source``."""
    return (record.loaded is not None and isinstance(record.loaded.instance, IsolatedPlugin)
            and source.manifest.isolation == "process")


async def reload_in_child(host: LifecycleHost, record: PluginRecord, source: PluginSource,
                          changed: bool) -> InChild | PluginLoadError:
    """Reload ``record``'s isolated plugin from ``source`` in its process. A
    PluginLoadError: the new version failed and the old one runs on (messages flow
    again). NEEDS_PROCESS: messages stay held for the staging path."""
    assert record.loaded is not None
    plugin = record.loaded.instance
    assert isinstance(plugin, IsolatedPlugin)
    bus, config = host.bus, host.config
    old = record.source.manifest
    record.status = RELOADING
    try:
        await bus.hold(record.id, drain_timeout=config.message_timeout)
    except TimeoutError:
        bus.release(record.id)
        record.status = RUNNING
        return PluginLoadError(record.id, "drain", PluginTraceback(
            f"messages to {record.id} were still being handled after "
            f"{config.message_timeout} s", ""))
    if changed:
        drop_bytecode(source.folder)
    in_place = (source.manifest.entry, source.manifest.config, source.manifest.limits) == (
        old.entry, old.config, old.limits)
    try:
        async with asyncio.timeout(config.lifecycle_timeout):
            if not in_place:
                await plugin.snapshot()
                return InChild.NEEDS_PROCESS
            await plugin.reload_in_place()
    except PluginLoadError as exc:  # the new version failed: the old one runs on
        bus.release(record.id)
        record.status = RUNNING
        return exc
    except TimeoutError:  # wedged: a fresh process takes over with the last snapshot
        plugin.abandon()
        return InChild.NEEDS_PROCESS
    except sdk.PluginCrashed:
        plugin.abandon()
        return InChild.NEEDS_PROCESS
    except Exception as exc:  # its on_before_reload raised, or its state is not JSON
        bus.release(record.id)
        record.status = RUNNING
        return PluginLoadError(record.id, "on_before_reload", PluginTraceback(
            f"{type(exc).__name__}: {exc}", "\n".join(getattr(exc, "__notes__", ()))))
    record.source = source
    bus.release(record.id, manifest=source.manifest)
    record.status = RUNNING
    return InChild.RELOADED
