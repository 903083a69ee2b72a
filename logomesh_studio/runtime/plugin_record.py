"""A plugin's bookkeeping in the runtime: status, live instance, modules, failures.

Shared by the host (start/stop) and the reloader (swap); nothing here runs plugins
except :func:`call_plugin`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from logomesh_studio import sdk
from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.plugin_files import is_under
from logomesh_studio.runtime.tracebacks import PluginTraceback
from logomesh_studio.runtime.watchdog import LifecycleGuard, LifecycleTimeout

PLUGIN_ERRORS = (Exception, SystemExit, KeyboardInterrupt, GeneratorExit)
"""What plugin code may raise that the runtime contains when it calls it directly.
SystemExit or KeyboardInterrupt escaping into an asyncio task would stop the runtime's
loop. :func:`call_plugin` also contains any other BaseException (a custom subclass, a
CancelledError the runtime did not ask for) as :class:`PluginRaised`."""

class PluginStatus(StrEnum):
    """Where a plugin is in its lifecycle; the value is what JSON and the CLI show."""

    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"
    LOADING = "loading"
    RELOADING = "reloading"


# Short names used inside the runtime.
RUNNING, FAILED, STOPPED = PluginStatus.RUNNING, PluginStatus.FAILED, PluginStatus.STOPPED
LOADING, RELOADING = PluginStatus.LOADING, PluginStatus.RELOADING


class PluginRaised(Exception):
    """A BaseException that is not an Exception (KeyboardInterrupt, GeneratorExit, a
    stray CancelledError, a custom subclass), raised by plugin code and carried as an
    Exception so the runtime contains it like any other error."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def runtime_cancelled(exc: BaseException) -> bool:
    """True if ``exc`` is a cancellation the runtime asked for (a timeout, shutdown, a
    sender giving up), which must propagate. A CancelledError plugin code raises on its
    own, while nobody cancelled the current task, is the plugin's failure."""
    if not isinstance(exc, asyncio.CancelledError):
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: nothing of the runtime's was cancelled
        return False
    return task is not None and task.cancelling() > 0


def raised_by_plugin(exc: BaseException) -> BaseException:
    """What plugin code really raised: the original of a :class:`PluginRaised`."""
    return exc.original if isinstance(exc, PluginRaised) else exc


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
    isolation: str = "none"
    """``"none"`` (in the runtime's process) or ``"process"`` (a process of its own)."""
    sandbox: dict[str, str] = field(default_factory=dict)
    """An isolated plugin's protections (``landlock``, ``seccomp``): ``"on"`` or
    ``"missing: why"``; empty when it runs in process or is not running."""
    pid: int = 0
    """The process an isolated plugin runs in (0 when it is not running)."""

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


async def call_plugin(func: Any, *args: Any, timeout: float | None = None,
                      guard: LifecycleGuard | None = None) -> Any:
    """Call a plugin method that may be sync or async, with an optional timeout.

    Whatever the plugin raises comes out as an Exception (see :class:`PluginRaised`);
    only a cancellation the runtime asked for propagates as it is. An async method
    still running after ``timeout`` seconds raises TimeoutError saying so; with a
    ``guard`` (see watchdog.py), so does sync code stuck past it.
    """
    scope = None
    try:
        with guard if guard is not None else contextlib.nullcontext():
            result = func(*args)
            if inspect.isawaitable(result):
                scope = asyncio.timeout(timeout)
                async with scope:
                    result = await result
    except Exception:
        if scope is not None and scope.expired():
            raise TimeoutError(f"{_name(func)}() did not finish within {timeout} s") from None
        raise
    except LifecycleTimeout as exc:  # the watchdog stopped code stuck past the timeout
        reason = guard.reason if guard is not None else "stopped by the watchdog"
        raise TimeoutError(reason).with_traceback(exc.__traceback__) from None
    except BaseException as exc:
        if runtime_cancelled(exc):
            raise
        raise PluginRaised(exc) from exc
    return result


def _name(func: Any) -> str:
    return getattr(func, "__name__", type(func).__name__)


def modules_under(folder: Path, names: Iterable[str]) -> dict[str, Any]:
    """The modules among ``names`` whose files live under ``folder``."""
    found = {}
    for name in names:
        module = sys.modules.get(name)
        filename = getattr(module, "__file__", None)
        if filename and is_under(filename, folder):
            found[name] = module
    return found


def purge_modules(modules: dict[str, Any]) -> None:
    """Drop a plugin's modules from ``sys.modules`` so the next import reads the files."""
    for name, module in modules.items():
        if sys.modules.get(name) is module:
            del sys.modules[name]
