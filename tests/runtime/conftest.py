"""Fixtures of the runtime tests."""

from __future__ import annotations

import pytest

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.testing import PluginHarness


@pytest.fixture
def watched(workspace):
    """A harness factory: start the workspace and its watcher."""
    running = []

    def start(config: RuntimeConfig | None = None) -> PluginHarness:
        h = PluginHarness(workspace.root, config)
        h.__enter__()
        running.append(h)
        h.watch()
        return h

    yield start
    for h in running:
        h.__exit__(None, None, None)
