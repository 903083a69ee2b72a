"""The debugger inside an isolated plugin's process: a DAP server on its loop.

The process runs :class:`~logomesh_studio.devtools.dap.DapServer` on a
:class:`ChildTarget` (the ``DebugTarget`` of a loop that runs one plugin), on a
control thread started when the runtime first asks for it. Its listening socket is
opened at the process's start, before the sandbox forbids new sockets; the debugger,
the control thread and what it evaluates run inside the sandbox. Studio's debugger
pane, or VS Code, attaches to the address the runtime reports
(``Supervisor.debug_address``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from logomesh_studio import sdk
from logomesh_studio.runtime.events import Event

if TYPE_CHECKING:
    from logomesh_studio.devtools.dap import DapServer

T = TypeVar("T")
DeliveryHook = Callable[[str, str, str], None]


class ChildTarget:
    """The loop of an isolated plugin's process as a ``DebugTarget``."""

    def __init__(self, plugin_id: str, folder: Path, loop: asyncio.AbstractEventLoop,
                 instance: Callable[[], sdk.Plugin | None]) -> None:
        self.plugin_id = plugin_id
        self.folder = folder
        self.loop = loop
        self._instance = instance
        self.listeners: list[Callable[[Event], None]] = []
        self.hooks: list[DeliveryHook] = []

    def plugin_ids(self) -> list[str]:
        return [self.plugin_id]

    def plugin_folder(self, plugin_id: str) -> Path:
        if plugin_id != self.plugin_id:
            raise KeyError(plugin_id)
        return self.folder

    def instance(self, plugin_id: str) -> sdk.Plugin | None:
        return self._instance() if plugin_id == self.plugin_id else None

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def alive(self) -> bool:
        return self.loop.is_running()

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    def add_delivery_hook(self, hook: DeliveryHook) -> Callable[[], None]:
        self.hooks.append(hook)
        return lambda: self.hooks.remove(hook) if hook in self.hooks else None

    def emit(self, event: Event) -> None:
        """Hand ``event`` (a log record, a reload) to the debug session's listeners."""
        for listener in list(self.listeners):
            listener(event)


def serve(target: ChildTarget, listener: socket.socket) -> tuple[DapServer, tuple[str, int]]:
    """Start the DAP server for ``target`` on ``listener``; the server and its address."""
    from logomesh_studio.devtools.dap import DapServer

    server = DapServer(target, plugin_id=target.plugin_id)
    return server, server.start(listener)
