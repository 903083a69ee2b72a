"""Find the data that travels with the package without importing Qt: ``resources/``
(icons, theme, plugin templates), ``plugins/`` (the example workspace) and
``packaging/logomesh.spec`` (for ``logomesh-studio package``).

They live at the repository root. The wheel maps them under the package, as
``logomesh_studio/_data/<folder>`` (hatch's ``sources`` in pyproject.toml), and the
frozen app carries them at the same place (logomesh_studio/bundle/build.py). This is the
one place that knows where they are: under the package through
:mod:`importlib.resources` when installed or frozen, else beside the package (a source
checkout or an editable install).
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

__all__ = ["PACKAGE_DATA", "data_dir", "package_data_dir", "resource_path", "resources_dir"]

PACKAGE_DATA = "_data"
"""The folder under ``logomesh_studio/`` that holds ``resources/`` and ``plugins/`` in a
wheel or a frozen app."""
_MARKERS = {"resources": "icons", "plugins": "text-pipeline.orchestration.yaml",
            "packaging": "logomesh.spec"}
"""A file or folder each data folder has, so a stray empty folder is not taken for it."""


def package_data_dir() -> Path | None:
    """``logomesh_studio/_data``, where an installed or frozen Studio keeps its data
    folders (a checkout has none there); None for a zipped package, which has no folder
    to hand out."""
    packaged = files("logomesh_studio") / PACKAGE_DATA
    return packaged.resolve() if isinstance(packaged, Path) else None


def _candidates(name: str) -> list[Path]:
    found: list[Path] = []
    packaged = package_data_dir()
    if packaged is not None:
        found.append(packaged / name)
    found.append(Path(__file__).resolve().parents[1] / name)
    return found


@functools.cache
def data_dir(name: str) -> Path:
    """The data folder ``name`` (``resources``, ``plugins`` or ``packaging``); raises FileNotFoundError
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
