"""Where a front end's debug sessions come from: the in-process runtime, or a DAP server.

A debugger front end (Studio's debugger pane) asks a :class:`DebugBackend` for the
plugins it can debug and for a session on one of them. Studio's RuntimeClient is one
(in-process sessions for ordinary plugins, DAP sessions for isolated ones);
:class:`RuntimeDebugBackend` serves a bare RuntimeThread (Debug This Test's harness).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from logomesh_studio.devtools.dap_session import DapSession
from logomesh_studio.devtools.debug_session import DebugSession
from logomesh_studio.devtools.debug_target import RuntimeTarget

if TYPE_CHECKING:
    from logomesh_studio.runtime.runner import RuntimeThread

__all__ = ["AnySession", "DebugBackend", "RuntimeDebugBackend"]

AnySession = DebugSession | DapSession
"""A session on the runtime's own thread, or one driven over the Debug Adapter Protocol."""


@runtime_checkable
class DebugBackend(Protocol):
    """What a debugger front end needs to start sessions (plain data otherwise)."""

    @property
    def workspace(self) -> Path | None:
        """The workspace whose breakpoints the front end keeps (None: none open)."""
        ...

    def debuggable_plugins(self) -> list[str]:
        """Ids of the plugins a session can be started on, sorted."""
        ...

    def handled_types(self, plugin_id: str) -> list[str]:
        """The message types ``plugin_id`` handles (for message breakpoints)."""
        ...

    def open_debug_session(self, plugin_id: str) -> AnySession:
        """A new, not yet started session on ``plugin_id``. Raises RuntimeError when no
        runtime runs, KeyError for an unknown plugin."""
        ...


class RuntimeDebugBackend:
    """In-process sessions on the runtime ``provider`` returns (None: none running).

    Reads the plugin table directly, never through the runtime loop: the loop is
    parked while a session is stopped.
    """

    def __init__(self, provider: Callable[[], RuntimeThread | None]) -> None:
        self._provider = provider

    @property
    def workspace(self) -> Path | None:
        runtime = self._provider()
        return runtime.host.workspace if runtime is not None else None

    def debuggable_plugins(self) -> list[str]:
        runtime = self._provider()
        return RuntimeTarget(runtime).plugin_ids() if runtime is not None else []

    def handled_types(self, plugin_id: str) -> list[str]:
        runtime = self._provider()
        instance = RuntimeTarget(runtime).instance(plugin_id) if runtime is not None else None
        return list(type(instance).handled_types()) if instance is not None else []

    def open_debug_session(self, plugin_id: str) -> AnySession:
        runtime = self._provider()
        if runtime is None or not runtime.thread.is_alive():
            raise RuntimeError("no workspace is running: open one before debugging a plugin")
        return DebugSession(runtime, plugin_id)
