"""Helpers shared by the hot reload tests."""

from __future__ import annotations

import textwrap

from logomesh_studio.runtime.events import ReloadCompleted, ReloadFailed
from logomesh_studio.testing import PluginHarness

VERSIONED = """
from logomesh_studio.sdk import Plugin, handler

class TestPlugin(Plugin):
    @handler("version")
    def version(self, message):
        return "{version}"

    @handler("remember")
    def remember(self, message):
        self.data.update(message.payload)
        return sorted(self.data)

    @handler("recall")
    def recall(self, message):
        return self.data
"""


def code(version: str) -> str:
    return VERSIONED.format(version=version)


def save(path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def completed(plugin_id: str):
    return lambda e: isinstance(e, ReloadCompleted) and e.plugin_id == plugin_id


def failed(plugin_id: str):
    return lambda e: isinstance(e, ReloadFailed) and e.plugin_id == plugin_id


def reloads(h: PluginHarness, plugin_id: str) -> list[ReloadCompleted]:
    return [e for e in h.events if completed(plugin_id)(e)]


def module_file(workspace, plugin_id: str):
    return workspace.root / plugin_id / workspace.package_name(plugin_id) / "__init__.py"


def settle(h: PluginHarness, workspace, sentinel: str = "sentinel") -> None:
    """Save the sentinel plugin and wait for its reload: every earlier change has been
    handled by then (changes are applied in order, identical content never reloads)."""
    path = module_file(workspace, sentinel)
    mark = h.mark()
    save(path, path.read_text() + "\n# touched\n")
    h.wait_for(completed(sentinel), after=mark)
