"""Find the data that travels with the package without importing Qt: ``resources/``
(icons, theme, plugin templates) and ``plugins/`` (the example workspace).

Both folders live at the repository root. The wheel maps them under the package, as
``logomesh_studio/_data/resources`` and ``logomesh_studio/_data/plugins``
(``force-include`` in pyproject.toml), and the frozen app carries them at the same
place (packaging/studio.spec). This is the one place that knows where they are: under
the package through :mod:`importlib.resources` when installed or frozen, else beside
the package (a source checkout or an editable install).
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

__all__ = ["PACKAGE_DATA", "data_dir", "resource_path", "resources_dir"]

PACKAGE_DATA = "_data"
"""The folder under ``logomesh_studio/`` that holds ``resources/`` and ``plugins/`` in a
wheel or a frozen app."""
_MARKERS = {"resources": "icons", "plugins": "text-pipeline.orchestration.yaml"}
"""A file or folder each data folder has, so a stray empty folder is not taken for it."""


def _candidates(name: str) -> list[Path]:
    found: list[Path] = []
    packaged = files("logomesh_studio") / PACKAGE_DATA / name
    if isinstance(packaged, Path):  # a zipped package has no folder to hand out
        found.append(packaged)
    found.append(Path(__file__).resolve().parents[1] / name)
    return found


@functools.cache
def data_dir(name: str) -> Path:
    """The data folder ``name`` (``resources`` or ``plugins``); raises FileNotFoundError
    naming where it looked."""
    candidates = _candidates(name)
    for path in candidates:
        if (path / _MARKERS[name]).exists():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"{name}/ not found (looked in {looked}); reinstall LogoMesh "
                            "Studio (pip install logomesh-studio, or from its checkout)")


def resources_dir() -> Path:
    """The ``resources/`` folder (raises FileNotFoundError naming where it looked)."""
    return data_dir("resources")


def resource_path(*parts: str) -> Path:
    """Path of a file under ``resources/``."""
    return resources_dir().joinpath(*parts)
