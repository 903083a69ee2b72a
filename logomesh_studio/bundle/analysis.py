"""What a workspace's plugins import from outside the standard library and themselves.

A packaged workspace carries its plugins' code as data (imported at run time, as in
Studio), so PyInstaller never sees their imports. This module reads them (``ast``, no
plugin code runs), adds each manifest's ``requires`` (modules imported by name at run
time, which reading cannot see) and checks that every one is installed in the building
Python, naming the plugin, file and line of any that is not.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from logomesh_studio.runtime.discovery import PluginSource, discover
from logomesh_studio.runtime.imports import top_level_modules
from logomesh_studio.runtime.manifest import Problem

__all__ = ["PluginImports", "WorkspaceImports", "analyse_workspace"]

_SKIPPED_DIRS = frozenset({"tests", "__pycache__", ".logomesh", ".git"})
"""Folders whose code a packaged plugin never runs (its tests, caches)."""
ALWAYS_BUNDLED = frozenset({"logomesh_studio"})


@dataclass(frozen=True, slots=True)
class Imported:
    """One third-party module a plugin needs, with where it was first seen."""

    module: str
    plugin_id: str
    where: str
    """``file:line`` of the import, or the manifest for a ``requires`` entry."""


@dataclass(slots=True)
class PluginImports:
    plugin_id: str
    modules: dict[str, Imported] = field(default_factory=dict)
    maybe: set[str] = field(default_factory=set)
    """Names that are modules only if installed as such (``from pkg import name``)."""


@dataclass(slots=True)
class WorkspaceImports:
    """Every plugin's third-party imports, the missing ones and the workspace's problems."""

    plugins: list[PluginImports] = field(default_factory=list)
    missing: list[Imported] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    syntax_errors: list[str] = field(default_factory=list)

    @property
    def modules(self) -> list[str]:
        """Every installed module some plugin needs (sorted, distinct)."""
        missing = {m.module for m in self.missing}
        return sorted({name for p in self.plugins for name in p.modules} - missing)


def _python_files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py") and name != "conftest.py" and not name.startswith("test_"):
                yield Path(root, name)


def imports_of(source: str, filename: str) -> Iterator[tuple[str, int, bool]]:
    """The absolute imports of Python ``source``: (module, line, maybe). ``maybe`` marks
    ``pkg.name`` of ``from pkg import name``, a module only if ``pkg`` has one by that name
    (``from PySide6 import QtCharts``)."""
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, False
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno, False
            for alias in node.names:
                if alias.name != "*":
                    yield f"{node.module}.{alias.name}", node.lineno, True


def _third_party(name: str, own: Iterable[str]) -> bool:
    top = name.partition(".")[0]
    return top not in sys.stdlib_module_names and top not in own and top not in ALWAYS_BUNDLED


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def plugin_imports(source: PluginSource, errors: list[str]) -> PluginImports:
    """The third-party modules one plugin imports or ``requires``."""
    found = PluginImports(source.id)
    own = set(top_level_modules(source.import_root))
    for path in _python_files(source.folder):
        try:
            text = path.read_text(encoding="utf-8")
            lines = list(imports_of(text, str(path)))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
            errors.append(f"{path}: cannot be read as Python: {exc}")
            continue
        for name, line, maybe in lines:
            if _third_party(name, own):
                found.modules.setdefault(name, Imported(name, source.id, f"{path}:{line}"))
                if maybe:
                    found.maybe.add(name)
    for name in source.manifest.requires:
        found.modules.setdefault(name, Imported(name, source.id,
                                                f"{source.manifest_path}: requires"))
    return found


def analyse_workspace(workspace: Path) -> WorkspaceImports:
    """Read every plugin of ``workspace`` (never importing it) for what it imports."""
    found = discover(workspace, entry_points=False)
    result = WorkspaceImports(problems=list(found.problems))
    for source in found.plugins:
        imports = plugin_imports(source, result.syntax_errors)
        result.plugins.append(imports)
        installed = {name: _installed(name) for name in imports.modules}
        result.missing.extend(imported for name, imported in imports.modules.items()
                              if not installed[name] and name not in imports.maybe)
        imports.modules = {n: i for n, i in imports.modules.items() if installed[n]}
    return result
