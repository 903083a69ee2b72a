"""Fixtures for the example plugins' own tests: the example workspace, running."""

from pathlib import Path

import pytest

from logomesh_studio.testing import PluginHarness

WORKSPACE = Path(__file__).parent


@pytest.fixture(scope="module")
def harness():
    """The example workspace in a real runtime, shared by one test module."""
    with PluginHarness(WORKSPACE) as running:
        yield running
