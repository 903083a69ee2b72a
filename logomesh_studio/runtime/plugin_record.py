"""A plugin's bookkeeping in the runtime: status, live instance, modules, failures.

Shared by the host (start/stop) and the reloader (swap); nothing here runs plugins
except :func:`call_plugin`.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logomesh_studio import sdk
from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.tracebacks import PluginTraceback

PLUGIN_ERRORS = (Exception, SystemExit)
"""What plugin code may raise that the runtime contains: SystemExit (``sys.exit()`` in a
plugin, an argparse error at import) would otherwise stop the runtime's loop."""

RUNNING, FAILED, STOPPED, LOADING, RELOADING = "running", "failed", "stopped", "loading", "reloading"


class PluginLoadError(Exception):
    """A plugin failed at ``stage`` (import, instantiate, initialize, cleanup, ...)."""

    def __init__(self, plugin_id: str, stage: str, detail: PluginTraceback) -> None:
        super().__init__(f"{plugin_id}: {stage} failed: {detail.error}")
        self.plugin_id = plugin_id
        self.stage = stage
        self.detail = detail


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A plain-data snapshot of one plugin for front ends."""

    id: str
    name: str
    version: str
    status: str
    folder: str
    manifest_path: str
    description: str
    capabilities: tuple[str, ...]
    dependencies: dict[str, str]
    permissions: tuple[str, ...]
    handles: tuple[str, ...]
    error: str = ""
    traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return {name: (list(v) if isinstance(v, tuple) else v)
                for name, v in ((n, getattr(self, n)) for n in self.__dataclass_fields__)}


@dataclass(slots=True)
class LoadedPlugin:
    """A live plugin instance with its context and the modules it was imported from."""

    instance: sdk.Plugin
    context: sdk.PluginContext
    modules: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class PluginRecord:
    """The host's bookkeeping for one plugin (private to the runtime)."""

    source: PluginSource
    status: str = STOPPED
    loaded: LoadedPlugin | None = None
    error: PluginTraceback | None = None
    failed_stage: str = ""
    ever_started: bool = False

    @property
    def id(self) -> str:
        return self.source.id


async def call_plugin(func: Any, *args: Any, timeout: float | None = None) -> Any:
    """Call a plugin method that may be sync or async, with an optional timeout."""
    result = func(*args)
    if inspect.isawaitable(result):
        async with asyncio.timeout(timeout):
            result = await result
    return result


def modules_under(folder: Path, names: Iterable[str]) -> dict[str, Any]:
    """The modules among ``names`` whose files live under ``folder``."""
    prefix = os.path.join(os.path.realpath(folder), "")
    found = {}
    for name in names:
        module = sys.modules.get(name)
        filename = getattr(module, "__file__", None)
        if filename and os.path.realpath(filename).startswith(prefix):
            found[name] = module
    return found


def purge_modules(modules: dict[str, Any]) -> None:
    """Drop a plugin's modules from ``sys.modules`` so the next import reads the files."""
    for name, module in modules.items():
        if sys.modules.get(name) is module:
            del sys.modules[name]
