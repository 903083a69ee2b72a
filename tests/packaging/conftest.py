"""Packaging tests build the apps with PyInstaller and install into a fresh venv: minutes
of CPU. ``.ci/run`` runs them (it sets LOGOMESH_PACKAGING_TESTS=1); so does
``pytest -m packaging``. A plain ``pytest`` (the edit-test loop, landing) skips them."""

from __future__ import annotations

import os

import pytest

ENABLE = "LOGOMESH_PACKAGING_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(ENABLE) == "1" or "packaging" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason=f"builds the apps (minutes): set {ENABLE}=1 or run "
                                   "pytest -m packaging (.ci/run does)")
    for item in items:
        if item.get_closest_marker("packaging") is not None:
            item.add_marker(skip)
