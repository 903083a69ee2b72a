"""Build a standalone app with PyInstaller: Studio, or one plugin workspace.

``packaging/build.py studio`` and ``logomesh-studio package`` call :func:`build`. It
works out what the app needs (below), writes it as a JSON file in the work folder, and
runs PyInstaller on ``packaging/logomesh.spec`` with it; nothing is generated into the
repository. The build prints steps, keeps PyInstaller's output in a log file, and ends
with the size, or with the reason it failed and the log's path.

What goes in, and why:

* ``logomesh_studio`` whole (minus the Qt front end for a headless app): the CLI imports
  its subcommands by name at run time, where PyInstaller cannot see them.
* The whole standard library (but Tk and its test suite): a user plugin may import any
  of it (``import wave``), and plugins are loaded at run time.
* Only the Qt modules Studio uses (QtOpenGL too: pyqtgraph's plots need it), without
  Qt's translations (Studio is English only), the platforms for embedded screens, and
  image formats Studio never reads. After PyInstaller, the folder is slimmed: Qt's and
  CPython's libraries are stripped and others lose their debug information only
  (stripping numpy's OpenBLAS breaks it); the libraries only the dropped ones needed,
  and the links to them, are removed; ICU's data keeps the root and English locales
  only (:mod:`logomesh_studio.bundle.icu`).
* For a workspace: its plugins as data (imported at run time, as in Studio), and the
  third-party modules they import (:mod:`logomesh_studio.bundle.analysis`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import logomesh_studio
from logomesh_studio.bundle.analysis import analyse_workspace
from logomesh_studio.bundle.elf import ElfFile, is_elf
from logomesh_studio.bundle.frozen import APP_CONFIG, AppConfig
from logomesh_studio.bundle.icu import find_icu_data, trim_icu_data
from logomesh_studio.resources import PACKAGE_DATA, data_dir

__all__ = ["AppRecipe", "BuildFailed", "BuildResult", "build", "folder_size",
           "remove_dangling_links", "unneeded_libraries"]

STUDIO_QT = frozenset({"QtCore", "QtGui", "QtWidgets", "QtSvg", "QtOpenGL", "QtOpenGLWidgets",
                       "QtTest"})
"""The Qt modules Studio and pyqtgraph import (QtTest: pyqtgraph imports it)."""
WINDOW_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph", "qasync", "numpy")
"""What only the Studio window needs (numpy: the plots' and the flame chart's arrays);
a headless app leaves them out unless a plugin imports them. (PyInstaller would bring
numpy along anyway: pytest's ``approx`` imports it, for tests that compare arrays.)"""
NOT_STDLIB = frozenset({"tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "test",
                        "lib2to3", "ensurepip", "distutils", "__phello__", "__hello__"})
"""Standard-library modules left out: Tk (needs Tcl/Tk, which is not bundled), the test
suite, and tools that only make sense with a Python installation."""
NOT_NEEDED = frozenset({
    # development tools that come along through pytest's and pyqtgraph's optional imports
    "hypothesis", "_hypothesis_pytestplugin", "_hypothesis_ftz_detector", "mypy", "mypyc",
    "ast_serialize", "setuptools", "pkg_resources", "_distutils_hack", "pip", "pygments",
    "pytestqt", "pytest_cov", "pytest_timeout", "jsonschema", "pyinstrument", "IPython",
    "matplotlib", "PyQt5", "PyQt6", "PySide2", "OpenGL", "numpy.f2py", "numpy.distutils"})
"""Installed modules no app runs (excluded, as Qt's unused modules are)."""
DROPPED_DATA = (
    "PySide6/Qt/translations/",
    "pyqtgraph/icons/peegee/peegee_",  # pyqtgraph's logo as PNGs, for mkQApp (never called)
)
DROPPED_BINARIES = (
    # Platforms for embedded screens and remote framebuffers, with their input plugins
    # and libraries (QtNetwork is needed by those alone).
    *(f"PySide6/Qt/plugins/platforms/libq{p}" for p in ("eglfs", "linuxfb", "vnc",
                                                        "vkkhrdisplay", "minimalegl")),
    "PySide6/Qt/plugins/egldeviceintegrations/", "PySide6/Qt/plugins/generic/",
    "PySide6/Qt/lib/libQt6EglFS", "PySide6/Qt/lib/libQt6EglFs", "PySide6/Qt/lib/libQt6Network",
    "libgssapi_krb5", "libkrb5", "libk5crypto", "libkrb5support", "libcom_err", "libkeyutils",
    # The GTK platform theme (GTK itself is never bundled, so it would mix the bundled
    # libraries with the system's) and the libraries only it needs.
    "PySide6/Qt/plugins/platformthemes/libqgtk3", "libatk-1.0", "libcairo", "libpango",
    "libgdk_pixbuf", "libthai", "libdatrie", "libfribidi", "libpixman",
    # Image formats Studio never reads (PNG is built in; SVG, ICO, GIF and JPEG stay).
    *(f"PySide6/Qt/plugins/imageformats/libq{f}" for f in ("tiff", "webp", "icns", "tga",
                                                         "wbmp")))
"""Libraries left out of the folder (paths in it, by prefix); each was checked with
``readelf -d`` to be needed only by the others listed. What only they needed goes too
(:func:`unneeded_libraries`)."""
STRIPPED = ("PySide6/", "shiboken6/", "libpython3", "python3")
"""Libraries that are safe to strip (Qt's, CPython's own); never numpy's, whose libraries
auditwheel rewrote (stripping OpenBLAS breaks it). Others built with debug information
(PyYAML's) lose that only."""
WORKSPACE_DIR = "workspace"
ORCHESTRATION_DIR = "orchestration"
_EXCLUDED_DIRS = ["__pycache__", "*.pyc", ".logomesh", ".git", ".pytest_cache", ".coverage"]


class BuildFailed(Exception):
    """The build stopped; the message says why (and where the full log is)."""


@dataclass(frozen=True, slots=True)
class AppRecipe:
    """What to build: Studio (no workspace) or one workspace, headless or in the window."""

    name: str
    workspace: Path | None = None
    gui: bool = True
    orchestration: Path | None = None
    naive: bool = False
    """PyInstaller with no excludes, nothing dropped or stripped (the bench's baseline)."""

    @property
    def is_studio(self) -> bool:
        return self.workspace is None


@dataclass(slots=True)
class BuildResult:
    folder: Path
    size: int
    seconds: float
    log: Path
    archive: Path | None = None
    archive_size: int = 0
    notes: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def folder_size(folder: Path) -> int:
    """Bytes of every file under ``folder`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _module_names(root: Path, prefix: str, skip: frozenset[str]) -> Iterator[str]:
    """Every module under the folder ``root``, as ``prefix.name`` (no import needed)."""
    for dirpath, dirs, files in os.walk(root):
        rel = Path(dirpath).relative_to(root).parts
        dirs[:] = [d for d in dirs if d.isidentifier() and d not in skip
                   and Path(dirpath, d, "__init__.py").exists()]
        package = ".".join([prefix, *rel] if prefix else rel)
        if package:
            yield package
        for name in files:
            stem = name.partition(".")[0]
            if (name.endswith(".py") or name.endswith(".so")) and stem.isidentifier() \
                    and stem not in ("__init__", "__main__") and stem not in skip:
                yield f"{package}.{stem}" if package else stem


def stdlib_modules() -> list[str]:
    """The standard library's modules, but :data:`NOT_STDLIB`, read from its folders."""
    found = set(_module_names(Path(sysconfig.get_paths()["stdlib"]), "",
                              NOT_STDLIB | {"site-packages"}))
    for dynload in {Path(p) for p in sys.path if Path(p).name == "lib-dynload"}:
        found |= {p.name.partition(".")[0] for p in dynload.glob("*.so")}
    return sorted(n for n in found if n.partition(".")[0] not in NOT_STDLIB
                  and not re.match(r"_?(test|xx)|_ctypes_test", n.partition(".")[0]))


def _qt_modules() -> set[str]:
    """PySide6's Qt modules, found without importing Qt (this layer never does)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return set()
    folder = Path(next(iter(spec.submodule_search_locations)))
    return {p.name.partition(".")[0] for p in folder.glob("Qt*.so")}


@dataclass(slots=True)
class _Plan:
    """The JSON the spec file reads (see packaging/logomesh.spec)."""

    name: str
    script: str
    pathex: list[str]
    trees: list[tuple[str, str]] = field(default_factory=list)
    datas: list[tuple[str, str]] = field(default_factory=list)
    hiddenimports: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    drop_binaries: list[str] = field(default_factory=list)
    tree_excludes: list[str] = field(default_factory=lambda: list(_EXCLUDED_DIRS))

    def to_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


def _plan(recipe: AppRecipe, work: Path, progress: Progress) -> tuple[_Plan, list[str]]:
    package = Path(logomesh_studio.__file__).resolve().parent
    notes: list[str] = []
    plan = _Plan(name=recipe.name, script=str(package / "bundle" / "frozen.py"),
                 pathex=[str(package.parent)])
    gui = recipe.gui
    third_party: list[str] = []
    if recipe.workspace is not None:
        workspace = recipe.workspace.resolve()
        found = analyse_workspace(workspace)
        if found.problems or found.syntax_errors:
            lines = [str(p) for p in found.problems] + found.syntax_errors
            raise BuildFailed("the workspace has problems (fix them, then package it):\n  "
                              + "\n  ".join(lines))
        if found.missing:
            raise BuildFailed("plugins import modules that are not installed in this Python "
                              f"({sys.executable}); install them, then package again:\n  "
                              + "\n  ".join(f"{m.module} (plugin {m.plugin_id}, {m.where})"
                                            for m in found.missing))
        third_party = found.modules
        progress(f"{len(found.plugins)} plugins; third-party modules they import: "
                 f"{', '.join(third_party) or 'none'}")
        plan.trees.append((str(workspace), WORKSPACE_DIR))
        orchestration = None
        if recipe.orchestration is not None:
            source = recipe.orchestration.resolve()
            if not source.is_file():
                raise BuildFailed(f"--orchestration: {source} is not a file")
            orchestration = f"{ORCHESTRATION_DIR}/{source.name}"
            plan.datas.append((str(source), ORCHESTRATION_DIR))
        config = AppConfig(name=recipe.name, workspace=WORKSPACE_DIR, gui=gui,
                           orchestration=orchestration)
        config_file = work / APP_CONFIG
        config_file.write_text(json.dumps(config.to_json(), indent=2), encoding="utf-8")
        plan.datas.append((str(config_file), "."))
    else:
        plan.trees.append((str(data_dir("plugins")), f"logomesh_studio/{PACKAGE_DATA}/plugins"))
    if gui:
        plan.trees.append((str(data_dir("resources")),
                           f"logomesh_studio/{PACKAGE_DATA}/resources"))
    skip = frozenset({PACKAGE_DATA} | (set() if gui else {"studio"}))
    plan.hiddenimports = sorted({*_module_names(package, "logomesh_studio", skip),
                                 *stdlib_modules(), *third_party})
    if not recipe.naive:
        wanted_qt = {m.split(".")[1] for m in third_party if m.startswith("PySide6.")}
        if gui:
            plan.excludes = sorted(f"PySide6.{m}" for m in _qt_modules() - STUDIO_QT - wanted_qt)
        else:
            plan.excludes = [p for p in WINDOW_PACKAGES
                             if not any(m.partition(".")[0] == p for m in third_party)]
            plan.excludes.append("logomesh_studio.studio")
        plan.excludes += sorted(NOT_STDLIB | NOT_NEEDED)
        plan.drop = list(DROPPED_DATA)
        plan.drop_binaries = list(DROPPED_BINARIES)
    return plan, notes


def _pyinstaller(plan: _Plan, dist: Path, work: Path, log: Path, progress: Progress) -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildFailed(f"PyInstaller is not installed in {sys.executable}: "
                          "pip install pyinstaller")
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json(), indent=2), encoding="utf-8")
    spec = data_dir("packaging") / "logomesh.spec"
    command = [sys.executable, "-m", "PyInstaller", str(spec), "--noconfirm", "--clean",
               "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
               "--log-level", "INFO", "--", str(plan_file)]
    phases = {"Building PYZ": "compressing Python modules", "Building EXE": "writing the executable",
              "Building COLLECT": "collecting the folder",
              "Looking for dynamic libraries": "finding libraries",
              "Analyzing hidden import": None}
    seen: set[str] = set()
    with log.open("w", encoding="utf-8") as out:
        out.write(" ".join(command) + "\n")
        out.flush()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
            [*plan.pathex, *filter(None, [os.environ.get("PYTHONPATH")])])}
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env, cwd=work)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            for marker, what in phases.items():
                if marker in line and marker not in seen:
                    seen.add(marker)
                    if what:
                        progress(f"  {what}")
        code = proc.wait()
    if code != 0:
        raise BuildFailed(f"PyInstaller failed: {_reason(log)} (full log: {log})")


def _reason(log: Path) -> str:
    """The most telling line of a failed PyInstaller log."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for pattern in (r"\bERROR\b|Error:|Exception:", r"\berror\b"):
        hits = [line.strip() for line in lines if re.search(pattern, line)]
        if hits:
            return hits[-1][:500]
    return lines[-1].strip()[:500] if lines else f"no output (see {log})"


def _strip(internal: Path) -> tuple[int, int]:
    """Strip the libraries of :data:`STRIPPED`, and the debug information of the others
    that have some (but in auditwheel's ``*.libs``); returns (files, bytes saved)."""
    strip = shutil.which("strip")
    if strip is None:
        return 0, 0
    whole, debug = [], []
    for path in internal.rglob("*.so*"):
        if not path.is_file() or path.is_symlink() or not is_elf(path):
            continue
        relative = path.relative_to(internal).as_posix()
        if relative.startswith(STRIPPED):
            whole.append(path)
        elif not path.parent.name.endswith(".libs") \
                and ".debug_info" in ElfFile(path).section_names():
            debug.append(path)
    before = sum(p.stat().st_size for p in whole + debug)
    for option, files in (("--strip-unneeded", whole), ("--strip-debug", debug)):
        for chunk in range(0, len(files), 50):
            subprocess.run([strip, option, *map(str, files[chunk:chunk + 50])],
                           capture_output=True, check=False)
    return len(whole) + len(debug), before - sum(p.stat().st_size for p in whole + debug)


def unneeded_libraries(folder: Path) -> list[Path]:
    """The libraries PyInstaller collected as dependencies (at the top of ``_internal``)
    that nothing left in ``folder`` needs: they were needed by what the build dropped.

    Everything else (the executable, Python's and the packages' extension modules, Qt's
    libraries and plugins, ``libpython``, which the executable loads) is kept, with what
    it needs, directly or not."""
    internal = folder / "_internal"
    top = {p.name: p for p in internal.glob("*.so*")
           if p.is_file() and not p.is_symlink() and not p.name.startswith("libpython")}
    needs: dict[str, list[str]] = {}
    wanted: list[str] = []
    for path in [*folder.glob("*"), *internal.rglob("*.so*")]:
        if not path.is_file() or path.is_symlink() or not is_elf(path):
            continue
        needed = ElfFile(path).needed()
        if path.parent == internal and path.name in top:
            needs[path.name] = needed
        else:
            wanted.extend(needed)
    reached: set[str] = set()
    while wanted:
        name = wanted.pop()
        link = internal / name
        if link.is_symlink() and link.resolve().parent == internal.resolve():
            name = link.resolve().name  # needed by its soname, collected under its file name
        if name in top and name not in reached:
            reached.add(name)
            wanted.extend(needs[name])
    return sorted(path for name, path in top.items() if name not in reached)


def remove_dangling_links(folder: Path) -> int:
    """Remove the symbolic links under ``folder`` whose target is gone; how many."""
    dangling = [p for p in folder.rglob("*") if p.is_symlink() and not p.exists()]
    for link in dangling:
        link.unlink()
    return len(dangling)


def _slim(folder: Path, work: Path) -> Iterator[str]:
    """Make the built ``folder`` smaller (see the module docstring), saying what it did."""
    internal = folder / "_internal"
    count, saved = _strip(internal)
    yield f"stripped {count} libraries (-{megabytes(saved)})"
    unneeded = unneeded_libraries(folder)
    size = sum(p.stat().st_size for p in unneeded)
    for path in unneeded:
        path.unlink()
    yield f"removed {len(unneeded)} libraries only dropped ones needed (-{megabytes(size)})"
    icu = find_icu_data(internal)
    if icu is not None:
        saved, what = trim_icu_data(icu, work)
        yield f"{what} (-{megabytes(saved)})" if saved else what
    yield f"removed {remove_dangling_links(folder)} links to libraries left out"


def _archive(folder: Path, progress: Progress) -> Path:
    archive = folder.with_name(f"{folder.name}-{sys.platform}-{os.uname().machine}.tar.gz")
    with tarfile.open(archive, "w:gz", compresslevel=9) as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def appimage_tool() -> str | None:
    """``appimagetool`` if it is on PATH."""
    return shutil.which("appimagetool")


def _appimage(folder: Path, tool: str, recipe: AppRecipe, log: Path) -> Path:
    appdir = folder.with_name(f"{folder.name}.AppDir")
    shutil.rmtree(appdir, ignore_errors=True)
    shutil.copytree(folder, appdir / "usr" / "lib" / folder.name, symlinks=True)
    (appdir / "AppRun").write_text(
        f'#!/bin/sh\nexec "$(dirname "$0")/usr/lib/{folder.name}/{recipe.name}" "$@"\n')
    (appdir / "AppRun").chmod(0o755)
    shutil.copy(data_dir("resources") / "icons" / "app.svg", appdir / "logomesh-studio.svg")
    (appdir / "logomesh-studio.desktop").write_text(
        f"[Desktop Entry]\nType=Application\nName={recipe.name}\nExec={recipe.name}\n"
        "Icon=logomesh-studio\nCategories=Development;\nTerminal=false\n")
    image = folder.with_name(f"{folder.name}-{os.uname().machine}.AppImage")
    with log.open("a", encoding="utf-8") as out:
        done = subprocess.run([tool, str(appdir), str(image)], stdout=out, stderr=out,
                              env={**os.environ, "ARCH": os.uname().machine})
    if done.returncode != 0:
        raise BuildFailed(f"appimagetool failed (full log: {log})")
    return image


def build(recipe: AppRecipe, dist: Path, work: Path, *, archive: bool = False,
          progress: Progress = print) -> BuildResult:
    """Build ``recipe`` into ``dist/<name>/``; raises BuildFailed saying why."""
    started = time.perf_counter()
    dist, work = dist.resolve(), (work / recipe.name).resolve()
    work.mkdir(parents=True, exist_ok=True)
    dist.mkdir(parents=True, exist_ok=True)
    log = work / "build.log"
    steps = 4 if archive else 3
    progress(f"[1/{steps}] Working out what {recipe.name} needs")
    plan, notes = _plan(recipe, work, progress)
    progress(f"[2/{steps}] Freezing with PyInstaller (log: {log})")
    _pyinstaller(plan, dist, work, log, progress)
    folder = dist / recipe.name
    if recipe.naive:
        progress(f"[3/{steps}] Slimming: nothing (naive build)")
    else:
        progress(f"[3/{steps}] Slimming the folder")
        for line in _slim(folder, work):
            progress(f"  {line}")
    result = BuildResult(folder=folder, size=folder_size(folder), seconds=0.0, log=log,
                         notes=notes)
    if archive:
        progress(f"[4/{steps}] Archiving")
        result.archive = _archive(folder, progress)
        result.archive_size = result.archive.stat().st_size
        progress(f"  {result.archive} ({megabytes(result.archive_size)})")
        tool = appimage_tool()
        if tool is None:
            result.notes.append("no AppImage: appimagetool is not on PATH")
        else:
            image = _appimage(folder, tool, recipe, log)
            result.notes.append(f"AppImage: {image} ({megabytes(image.stat().st_size)})")
    result.seconds = time.perf_counter() - started
    for note in result.notes:
        progress(f"  {note}")
    progress(f"Built {folder}: {megabytes(result.size)} in {result.seconds:.0f} s")
    return result
