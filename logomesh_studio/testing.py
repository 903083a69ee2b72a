"""Test a plugin the way the runtime runs it.

    from logomesh_studio.testing import PluginHarness

    def test_echo_replies(tmp_path):
        with PluginHarness(WORKSPACE) as h:
            assert h.send("echo", "echo", {"x": 1}) == {"x": 1}

The harness runs a real runtime thread on the workspace; ``send`` speaks as the
test driver, which may message any plugin (``as_`` speaks as a plugin instead,
with that plugin's permissions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import Event
from logomesh_studio.runtime.host import PluginHost
from logomesh_studio.runtime.plugin_record import PluginInfo
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.runtime.senders import DEVELOPER, DEVELOPER_PERMISSIONS

__all__ = ["DRIVER", "PluginHarness"]

DRIVER = DEVELOPER
"""The sender id of messages the harness sends on its own behalf: the developer sender
(:data:`logomesh_studio.runtime.senders.DEVELOPER`), which no plugin id can equal."""


class PluginHarness:
    """A running workspace for tests; use as a context manager."""

    def __init__(self, workspace: Path | str, config: RuntimeConfig | None = None) -> None:
        self.runtime = RuntimeThread(Path(workspace), config or RuntimeConfig(entry_points=False))
        self.events: list[Event] = []
        self._arrived = threading.Condition()
        self.runtime.events.subscribe(self._on_event)
        self.runtime.host.bus.grant(DRIVER, list(DEVELOPER_PERMISSIONS))

    def _on_event(self, event: Event) -> None:
        with self._arrived:
            self.events.append(event)
            self._arrived.notify_all()

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10.0,
                 after: int = 0) -> Event:
        """The first event (from index ``after`` on) matching ``predicate``; waits for it.
        Raises TimeoutError if none arrives within ``timeout`` seconds."""
        with self._arrived:
            found: list[Event] = []

            def arrived() -> bool:
                found[:] = [e for e in self.events[after:] if predicate(e)][:1]
                return bool(found)

            if not self._arrived.wait_for(arrived, timeout):
                raise TimeoutError(f"no matching event within {timeout} s; got "
                                   f"{[e.kind for e in self.events[after:]]}")
            return found[0]

    def mark(self) -> int:
        """The index of the next event, to ``wait_for(..., after=mark)`` later."""
        with self._arrived:
            return len(self.events)

    def watch(self) -> None:
        """Start hot reload on the workspace; returns once the watcher is live."""
        self.runtime.run(self.host.watch())

    def reload(self, plugin_id: str) -> bool:
        """Reload a plugin (and its dependents) now."""
        return self.runtime.run(self.host.reload(plugin_id))

    def __enter__(self) -> PluginHarness:
        self.runtime.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.runtime.stop()

    @property
    def host(self) -> PluginHost:
        """The runtime's PluginHost (for assertions on plugin state)."""
        return self.runtime.host

    def plugin(self, plugin_id: str) -> PluginInfo:
        """Status snapshot of one plugin."""
        return self.host.plugin(plugin_id)

    def send(self, target: str, type: str, payload: Any = None, *, as_: str = DRIVER,
             timeout: float | None = None) -> Any:
        """Send a message and wait for the response (raises the bridge's errors)."""
        return self.runtime.run(self.host.bus.send(as_, target, type, payload, timeout))

    def broadcast(self, type: str, payload: Any = None, capability: str | None = None, *,
                  as_: str = DRIVER) -> dict[str, Any]:
        """Broadcast and wait for every response (or PluginError) by plugin id."""
        return self.runtime.run(self.host.bus.broadcast(as_, type, payload, capability))

    def request_capability(self, name: str, params: Any = None, *, as_: str = DRIVER
                           ) -> tuple[str, Any]:
        """Request a capability; ``(provider_id, result)``."""
        return self.runtime.run(self.host.bus.request_capability(as_, name, params))

    def execute(self, plugin_id: str, input: Any = None, *, as_: str = DRIVER) -> Any:
        """Call the plugin's ``execute(input)`` through the bridge (recorded, copied)."""
        return self.runtime.run(self.host.bus.execute(as_, plugin_id, input))
