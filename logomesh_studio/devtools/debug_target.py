"""What a debug session needs of the process that runs the debugged plugin.

:class:`DebugTarget` is the narrow interface between the debugger (``DebugSession``,
the DAP server in ``dap.py``) and a runtime: the in-process runtime thread
(:class:`RuntimeTarget`) or the runtime loop inside an isolated plugin's child
process, which implements the same few methods over its own loop.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from logomesh_studio.runtime.events import Event

if TYPE_CHECKING:
    from logomesh_studio import sdk
    from logomesh_studio.runtime.runner import RuntimeThread

__all__ = ["DebugTarget", "RuntimeTarget"]

T = TypeVar("T")
DeliveryHook = Callable[[str, str, str], None]


class DebugTarget(Protocol):
    """A loop running plugins on one thread, as a debug session sees it.

    ``submit`` runs a coroutine on that loop (the debugger attaches by calling
    ``sys.settrace`` there); ``instance`` and the delivery hooks are used on the loop's
    thread only; the rest may be called from any thread.
    """

    def plugin_ids(self) -> list[str]:
        """Ids of the plugins that can be debugged, in load order."""
        ...

    def plugin_folder(self, plugin_id: str) -> Path:
        """The plugin's folder: the debugger's only root (KeyError if unknown)."""
        ...

    def instance(self, plugin_id: str) -> sdk.Plugin | None:
        """The running instance (on the loop's thread), None if not running."""
        ...

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread (RuntimeError once closed)."""
        ...

    def alive(self) -> bool:
        """True while the loop's thread runs."""
        ...

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Runtime events (ReloadCompleted re-places breakpoints, LogRecorded becomes
        DAP output); returns the unsubscribe."""
        ...

    def add_delivery_hook(self, hook: DeliveryHook) -> Callable[[], None]:
        """``hook(source, target, type)`` right before each handler runs, on the loop's
        thread (message breakpoints); returns its remover."""
        ...


class RuntimeTarget:
    """The in-process runtime thread as a :class:`DebugTarget` (any of its plugins)."""

    def __init__(self, runtime: RuntimeThread) -> None:
        self.runtime = runtime

    def plugin_ids(self) -> list[str]:
        # Read directly, not through the loop: it is parked while a session is stopped.
        return sorted(self.runtime.host.records)

    def plugin_folder(self, plugin_id: str) -> Path:
        return Path(self.runtime.host.records[plugin_id].source.folder)

    def instance(self, plugin_id: str) -> sdk.Plugin | None:
        return self.runtime.host.instance(plugin_id)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return self.runtime.submit(coro)

    def alive(self) -> bool:
        return self.runtime.thread.is_alive()

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self.runtime.events.subscribe(listener)

    def add_delivery_hook(self, hook: DeliveryHook) -> Callable[[], None]:
        return self.runtime.host.bus.add_delivery_hook(hook)
