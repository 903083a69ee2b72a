"""Shared test setup: Qt runs offscreen with its own config home, and a builder for
throwaway plugin workspaces."""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The whole suite, and every Studio it starts (in process or as a child process, which
# inherits the environment), keeps its settings here instead of the user's
# ~/.config/LogoMesh*. Set before anything creates a QSettings: Qt reads it once.
CONFIG_HOME = Path(tempfile.mkdtemp(prefix="logomesh-tests-config-"))
os.environ["XDG_CONFIG_HOME"] = str(CONFIG_HOME)
atexit.register(shutil.rmtree, CONFIG_HOME, ignore_errors=True)

# A suite started as a background job (`.ci/run &`) inherits SIGINT ignored, and so would
# the child processes whose Ctrl+C handling tests check (an ignored signal stays ignored
# across exec; a handler does not): handle it here, so children start with the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

DEFAULT_CODE = """
from logomesh_studio.sdk import Plugin, handler


class {cls}(Plugin):
    @handler("ping")
    def ping(self, message):
        return {{"pong": message.payload, "from": "{id}"}}
"""


def toml_value(value: Any) -> str:
    """A TOML literal for the plain values manifests use."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


class Workspace:
    """Writes plugin folders into a temporary workspace; package names are unique per test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._suffix = format(abs(hash(str(root))) % 10**8, "08d")

    def package_name(self, plugin_id: str) -> str:
        return f"{plugin_id.replace('-', '_').replace('.', '_')}_p{self._suffix}"

    def plugin(self, plugin_id: str, code: str | None = None, *, fmt: str = "toml",
               cls: str = "TestPlugin", package: str | None = None, **fields: Any) -> Path:
        """Create plugin ``plugin_id``; ``fields`` override manifest fields, ``package``
        the (otherwise unique) package name."""
        folder = self.root / plugin_id
        package = package or self.package_name(plugin_id)
        (folder / package).mkdir(parents=True, exist_ok=True)
        source = DEFAULT_CODE.format(cls=cls, id=plugin_id) if code is None else code
        (folder / package / "__init__.py").write_text(textwrap.dedent(source))
        manifest = {"id": plugin_id, "name": plugin_id.title(), "version": "1.0.0",
                    "entry": f"{package}:{cls}", **fields}
        self.write_manifest(folder, manifest, fmt)
        return folder

    def write_manifest(self, folder: Path, manifest: dict[str, Any], fmt: str = "toml") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if fmt == "json":
            path = folder / "manifest.json"
            path.write_text(json.dumps(manifest, indent=2))
        else:
            path = folder / "plugin.toml"
            path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in manifest.items()))
        return path


def stop_when(args: list[str], ready: Callable[[str], bool], *, timeout: float = 120,
              **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run a long-lived command, send it SIGTERM once a line of its output satisfies
    ``ready``, and wait for it to end; ``stdout`` holds the lines after that one."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if ready(line):
                proc.send_signal(signal.SIGTERM)
                break
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
        proc.wait()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


_fresh = itertools.count()


def import_file(path: Path, source: str | None = None) -> ModuleType:
    """Write ``source`` (dedented) to ``path`` if given, then import that file as a new
    module of its own: fresh code objects on every call, nothing left in sys.modules."""
    if source is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"_tmp_{path.stem}_{next(_fresh)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty plugin workspace in ``tmp_path``."""
    return Workspace(tmp_path / "workspace")
