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

from pathlib import Path
from typing import Any

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import Event
from logomesh_studio.runtime.host import PluginInfo
from logomesh_studio.runtime.runner import RuntimeThread

__all__ = ["DRIVER", "PluginHarness"]

DRIVER = "test"
"""The sender id of messages the harness sends on its own behalf."""


class PluginHarness:
    """A running workspace for tests; use as a context manager."""

    def __init__(self, workspace: Path | str, config: RuntimeConfig | None = None) -> None:
        self.runtime = RuntimeThread(Path(workspace), config or RuntimeConfig(entry_points=False))
        self.events: list[Event] = []
        self.runtime.events.subscribe(self.events.append)
        self.runtime.host.bus.grant(DRIVER, ["send:*", "broadcast", "capability:*"])

    def __enter__(self) -> PluginHarness:
        self.runtime.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.runtime.stop()

    @property
    def host(self):
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
        return self.runtime.run(self.host.bus.broadcast(as_, type, payload, capability))

    def request_capability(self, name: str, params: Any = None, *, as_: str = DRIVER):
        return self.runtime.run(self.host.bus.request_capability(as_, name, params))

    def execute(self, plugin_id: str, input: Any = None) -> Any:
        return self.runtime.run(self.host.execute(plugin_id, input))
