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


def runtime_reaches(path: Path) -> list[tuple[int, str]]:
    """``(line, attribute)`` for each ``x.runtime``, ``x.host`` or ``x.bus`` in ``path``."""
    return [(node.lineno, node.attr)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and node.attr in ("runtime", "host", "bus")]


def test_the_check_sees_a_pane_reaching_into_the_runtime(tmp_path):
    source = tmp_path / "pane.py"
    source.write_text("DebuggerPane(lambda: self.client.runtime)\nx = rt.host.bus.send\n")
    assert sorted(runtime_reaches(source)) == [(1, "runtime"), (2, "bus"), (2, "host")]


def test_studio_reaches_the_runtime_only_through_its_client():
    """Panes and the window use RuntimeClient's commands and plain data, so the runtime
    can move to another process without touching them (studio/client.py is the door)."""
    studio = PACKAGE / "studio"
    found = {str(path.relative_to(studio)): reaches
             for path in sorted(studio.rglob("*.py"))
             if path != studio / "client.py" and (reaches := runtime_reaches(path))}
    assert found == {}


def test_panes_use_the_clients_typed_commands_not_command_names():
    studio = PACKAGE / "studio"
    found = {str(path.relative_to(studio)): lines
             for path in sorted(studio.rglob("*.py")) if path != studio / "client.py"
             and (lines := [node.lineno for node in ast.walk(ast.parse(path.read_text()))
                            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr == "call"])}
    assert found == {}
