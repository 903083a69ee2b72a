"""Where the example workspace lives: ``plugins/`` beside the package.

The CLI and the Studio window open it when no workspace is given; tests and the
packaged app find it here too.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["example_workspace"]


def example_workspace() -> Path:
    """The bundled example workspace folder (``plugins/`` next to ``logomesh_studio/``)."""
    return Path(__file__).resolve().parent.parent / "plugins"
