"""Where the example workspace lives: ``plugins/`` at the repository root, carried under
the package by the wheel and the frozen app (see :mod:`logomesh_studio.resources`).

The CLI and the Studio window open it when no workspace is given; tests and the
packaged app find it here too.
"""

from __future__ import annotations

from pathlib import Path

from logomesh_studio.resources import data_dir

__all__ = ["example_workspace"]


def example_workspace() -> Path:
    """The bundled example workspace folder."""
    return data_dir("plugins")
