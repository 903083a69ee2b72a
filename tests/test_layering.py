"""Seams between layers that a child-process runtime relies on, checked in the source."""

from __future__ import annotations

import ast
from pathlib import Path

import logomesh_studio

PACKAGE = Path(logomesh_studio.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any level (TYPE_CHECKING blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_check_sees_an_import_under_type_checking(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("if TYPE_CHECKING:\n    from logomesh_studio.runtime.host import X\n")
    assert "logomesh_studio.runtime.host" in imported_modules(source)


def test_the_reloader_and_the_lifecycle_steps_do_not_import_the_host():
    for name in ("reload.py", "lifecycle.py"):
        assert "logomesh_studio.runtime.host" not in imported_modules(
            PACKAGE / "runtime" / name), name


def test_workflows_do_not_import_the_bus():
    assert "logomesh_studio.runtime.bus" not in imported_modules(
        PACKAGE / "runtime" / "workflow.py")
