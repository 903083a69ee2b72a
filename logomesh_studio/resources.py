"""Find files in ``resources/`` (icons, theme, plugin templates) without importing Qt.

``resources/`` sits at the repository root beside the package (an editable install
finds it there); a frozen app carries it next to its executable. This is the one
place that knows where it is.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

__all__ = ["resource_path", "resources_dir"]


def _candidates() -> list[Path]:
    here = Path(__file__).resolve()
    found = [here.parents[1] / "resources"]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        found.insert(0, Path(frozen) / "resources")
    found.append(Path(sys.prefix) / "share" / "logomesh-studio" / "resources")
    return found


@functools.cache
def resources_dir() -> Path:
    """The ``resources/`` folder (raises FileNotFoundError naming where it looked)."""
    for path in _candidates():
        if (path / "icons").is_dir():
            return path
    looked = ", ".join(str(p) for p in _candidates())
    raise FileNotFoundError(f"resources/ not found (looked in {looked}); "
                            "install LogoMesh Studio from its repository checkout")


def resource_path(*parts: str) -> Path:
    """Path of a file under ``resources/``."""
    return resources_dir().joinpath(*parts)
