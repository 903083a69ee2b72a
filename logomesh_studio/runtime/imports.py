"""Import plugin code: each workspace plugin from its own folder, without sys.path.

Python has one module namespace per process, so two plugins that each ship a top-level
``helpers.py`` cannot both have ``helpers``, and a plugin's ``wave.py`` or ``queue/``
would replace the standard-library module for everyone. Workspace folders are therefore
never put on ``sys.path``: one finder, placed after the standard ones, serves a plugin's
top-level modules from its own folder while it is imported (and later, by name, to
whoever imports them again). Before a plugin is imported, its top-level modules are
checked: one named like a standard-library module, or one another plugin already
imported, is a load failure naming both files. The same check, without importing
anything, is :func:`module_problems` for ``logomesh-studio check``.

Without a ``sys.path`` entry and a global ``importlib.invalidate_caches()`` per plugin,
loading stays linear in the number of plugins.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.manifest import Problem
from logomesh_studio.runtime.plugin_files import bytecode_files, is_under, real_prefix

_NOT_MODULES = frozenset({"tests", "conftest", "setup", "__pycache__"})
"""Folder members that are never imported as the plugin's code (so never a conflict)."""
_SUFFIXES = tuple(importlib.machinery.all_suffixes())


class ModuleConflict(Exception):
    """A plugin's top-level module would clash with another plugin's or the standard
    library's; ``path`` is the plugin's file."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def top_level_modules(root: Path) -> dict[str, Path]:
    """The top-level modules a plugin folder ships: name -> its file or package folder.
    An unreadable folder ships nothing (its manifest already failed to load)."""
    found: dict[str, Path] = {}
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=True):
            if name.isidentifier() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                found[name] = root / name  # a package wins over a module, as for imports
        elif name.endswith(_SUFFIXES):
            stem = name.partition(".")[0]
            if stem.isidentifier():
                found.setdefault(stem, root / name)
    for name in _NOT_MODULES & found.keys():
        del found[name]
    return found


def _stdlib_clash(name: str, path: Path) -> str:
    if name in sys.stdlib_module_names:
        return (f"{path.name} is named like the standard-library module {name!r}, which it "
                "would replace for every plugin; rename it (or move it inside the plugin's "
                "package)")
    return ""


def module_problems(sources: Sequence[PluginSource]) -> list[Problem]:
    """Workspace plugins' top-level modules that shadow the standard library or that two
    plugins ship under the same name (one namespace per process: only one could load)."""
    problems: list[Problem] = []
    owners: dict[str, tuple[str, Path]] = {}
    for source in sources:
        if source.origin != "workspace":
            continue
        for name, path in sorted(top_level_modules(source.import_root).items()):
            clash = _stdlib_clash(name, path)
            if clash:
                problems.append(Problem(str(path), "(module)", clash))
                continue
            other = owners.setdefault(name, (source.id, path))
            if other[0] != source.id:
                problems.append(Problem(str(path), "(module)", _shared(name, other[0], other[1])))
    return problems


def _shared(name: str, owner: str, path: Path | str) -> str:
    return (f"top-level module {name!r} is also shipped by plugin {owner!r} ({path}); "
            "plugins share one module namespace, so rename one (or move it inside the "
            "plugin's package)")


class PluginImporter(importlib.abc.MetaPathFinder):
    """Imports workspace plugins from their folders and remembers who owns which
    top-level module name. Installed (entry-point) plugins import from ``sys.path``."""

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}
        """Top-level module name -> the folder (import root) it was imported from."""
        self._plugins: dict[str, str] = {}
        """Top-level module name -> the plugin that imported it."""
        self._importing: tuple[str, dict[str, Path], bool, bool] | None = None
        """The folder being imported, the top-level modules it ships (name -> path),
        whether it was imported before, and whether its files are unchanged since."""
        self._imported: set[str] = set()
        self._added_paths: set[str] = set()
        self._tops: dict[str, dict[str, Path]] = {}
        """Import root -> the top-level modules :meth:`check` found there last."""
        self._unchanged: set[str] = set()
        """Import roots whose files did not change since their last import (see
        :meth:`unchanged`)."""

    # -- the finder -------------------------------------------------------------------------

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        """A top-level module of the plugin being imported, or one imported from a plugin
        folder before (and dropped since, e.g. by a reload). Only names checked not to
        clash with anything else are served, so this finder can come first."""
        if path is not None:
            return None  # a submodule: its package's __path__ finds it
        importing = self._importing
        again, unchanged = True, False
        if importing is not None and fullname in importing[1]:
            root: str | None = importing[0]
            again, unchanged = importing[2], importing[3]
            spec = _direct_spec(fullname, importing[1][fullname])
            if spec is not None:  # no directory listing, no finder per plugin folder
                return self._reloading(spec, again, unchanged)
        else:
            root = self._owners.get(fullname)
        if root is None:
            return None
        found = importlib.machinery.PathFinder.find_spec(fullname, [root])
        return None if found is None else self._reloading(found, again, unchanged)

    @staticmethod
    def _reloading(spec: ModuleSpec, again: bool, unchanged: bool) -> ModuleSpec:
        """``spec``, loaded by a _ReloadLoader if imported ``again`` (else the first
        import uses the bytecode cache as usual); ``unchanged``: its files are known not
        to have changed since (the loader may skip reading its source)."""
        if (again and spec.origin is not None
                and type(spec.loader) is importlib.machinery.SourceFileLoader):
            spec.loader = _ReloadLoader(spec.name, spec.origin, unchanged)  # a reload
            spec.cached = _bytecode_path(spec.origin)
        return spec

    def unchanged(self, source: PluginSource) -> None:
        """Say that ``source``'s files did not change since its last import (a reload
        that only follows an upstream one): its next import reuses what :meth:`check`
        found and the finders' directory listings instead of reading the folder again."""
        self._unchanged.add(str(source.import_root))

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def close(self) -> None:
        """Stop finding plugin modules; forget the sys.path entries added for installed ones."""
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for root in self._added_paths:
            if root in sys.path:
                sys.path.remove(root)
        self._added_paths.clear()

    # -- importing --------------------------------------------------------------------------

    def check(self, source: PluginSource) -> dict[str, Path]:
        """``source``'s top-level modules; raises ModuleConflict if one clashes with the
        standard library, an installed module, another plugin's or anything imported."""
        if source.origin != "workspace":
            return {}
        root = str(source.import_root)
        modules = self._tops.get(root) if root in self._unchanged else None
        if modules is None:
            modules = self._tops[root] = top_level_modules(source.import_root)
        try:
            self._check(source, modules)
        except ModuleConflict:
            self._unchanged.discard(root)
            raise
        return modules

    def _check(self, source: PluginSource, modules: dict[str, Path]) -> None:
        prefix = real_prefix(source.import_root)
        for name, path in modules.items():
            clash = _stdlib_clash(name, path)
            if clash:
                raise ModuleConflict(f"ImportError: {clash}", str(path))
            module = sys.modules.get(name)
            if module is None:
                where = _installed_names().get(name)
                if name in self._owners or where is None or where == prefix[:-1]:
                    continue
                raise ModuleConflict(
                    f"ImportError: {path.name}: module {name!r} is also installed (on sys.path) "
                    "and this one would replace it; give this plugin's module a unique name",
                    str(path))
            file = getattr(module, "__file__", None) or "(built in)"
            if is_under(file, source.import_root):
                continue  # its own, still imported (a reload purges it first)
            owner = self._plugins.get(name)
            if owner is not None:
                raise ModuleConflict(
                    f"ImportError: {path.name}: top-level module {name!r} is already imported "
                    f"by plugin {owner!r} from {file}; plugins share one module namespace, so "
                    "rename one (or move it inside the plugin's package)", str(path))
            raise ModuleConflict(
                f"ImportError: {path.name}: module {name!r} is already imported from {file}; "
                "give this plugin's module a unique name", str(path))

    def import_entry(self, source: PluginSource, modules: dict[str, Path]
                     ) -> tuple[Any, list[str]]:
        """Import ``source``'s entry object (``modules``: what :meth:`check` returned);
        returns it and the names the import added to sys.modules. Plugin code's
        exceptions propagate as raised."""
        module_name, _, attr = source.manifest.entry.partition(":")
        root = str(source.import_root)
        workspace = source.origin == "workspace"
        again = root in self._imported
        unchanged = again and root in self._unchanged
        if workspace:
            self.install()
            if again and root not in self._unchanged:
                _forget_finders(root)  # again, after a change: read the folder afresh
            self._imported.add(root)
            self._unchanged.discard(root)
        elif root not in sys.path:
            sys.path.insert(0, root)
            self._added_paths.add(root)
            importlib.invalidate_caches()
        before = len(sys.modules)
        previous = self._importing
        self._importing = (root, modules, again, unchanged) if workspace else None
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        finally:
            self._importing = previous
            added = added_since(before)
            for name in added:
                if name in modules:
                    self._owners[name] = root
                    self._plugins[name] = source.id
        return obj, added


def _direct_spec(name: str, path: Path) -> ModuleSpec | None:
    """The spec of a plugin's top-level module at ``path`` (what :func:`top_level_modules`
    found): a package with an ``__init__.py`` or a ``.py`` module. None for anything
    else (an extension module, bytecode only): the path finder handles those. (A package
    folder is listed only with an ``__init__.py`` in it.)"""
    if path.suffix == ".py":
        return importlib.util.spec_from_file_location(name, path)
    if path.suffix:
        return None
    return importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                  submodule_search_locations=[str(path)])


class _ReloadLoader(importlib.machinery.SourceFileLoader):
    """Loads a plugin's top-level module again (a reload): its source is read and
    compared with what was compiled last time, and unchanged source reuses that code
    (a dependent that reloads only because an upstream plugin did skips compiling and
    the bytecode cache). ``unchanged``: the plugin's files are known not to have changed
    since that compile, so the source is not even read again."""

    def __init__(self, fullname: str, path: str, unchanged: bool = False) -> None:
        super().__init__(fullname, path)
        self.unchanged = unchanged

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        cached = _compiled.get(path)
        if cached is not None and self.unchanged:
            return cached[1]
        data = self.get_data(path)
        if cached is not None and cached[0] == data:
            return cached[1]
        code = self.source_to_code(data, path)
        _compiled[path] = (data, code)
        return code


_compiled: dict[str, tuple[bytes, CodeType]] = {}
"""Source file -> the source last compiled from it and its code (see _ReloadLoader)."""


def _bytecode_path(source: str) -> str | None:
    """Where ``source``'s bytecode would be cached (``__cached__``)."""
    files, level = bytecode_files(source), sys.flags.optimize
    if level < len(files):
        return files[level]
    return importlib.util.cache_from_source(source) if files else None  # -OOO and up


def added_since(count: int) -> list[str]:
    """Names added to sys.modules since it held ``count`` (a dict keeps insertion order,
    so they are the last ones; reading them costs what was added, not all modules)."""
    return list(itertools.islice(reversed(sys.modules), max(len(sys.modules) - count, 0)))


_installed: tuple[tuple[str, ...], dict[str, str]] = ((), {})


def _installed_names() -> dict[str, str]:
    """Top-level modules and packages importable from sys.path -> the sys.path entry that
    holds each (listed once per sys.path)."""
    global _installed
    key = tuple(sys.path)
    if _installed[0] != key:
        names: dict[str, str] = {}
        for entry in reversed(key):  # the first entry wins, as for imports
            real = os.path.realpath(entry or ".")
            names.update(dict.fromkeys(top_level_modules(Path(real)), real))
        _installed = (key, names)
    return _installed[1]


def _forget_finders(root: str) -> None:
    """Drop cached directory listings under ``root`` so new files are seen."""
    prefix = os.path.join(root, "")
    for key in [k for k in sys.path_importer_cache if k == root or k.startswith(prefix)]:
        del sys.path_importer_cache[key]
