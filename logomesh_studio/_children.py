"""What every child Python process Studio starts needs: this copy of the package."""

from __future__ import annotations

import os
from pathlib import Path

import logomesh_studio


def child_environment() -> dict[str, str]:
    """The parent's environment, with this copy of logomesh_studio first on the path (a
    child started with ``python -m`` must import the same code as its parent)."""
    root = str(Path(logomesh_studio.__file__).resolve().parents[1])
    inherited = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, inherited] if inherited
                                                         else [root])}
