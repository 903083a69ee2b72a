"""A plain (non-editable) install carries the icons, theme, templates and example workspace."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]

CHECK_DATA = """
import json, sys
from PySide6.QtWidgets import QApplication
from logomesh_studio.examples import example_workspace
from logomesh_studio.resources import resources_dir
from logomesh_studio.studio.resources import icon, stylesheet
app = QApplication([])
names = sorted(p.stem for p in (resources_dir() / "icons").glob("*.svg"))
print(json.dumps({
    "package": __import__("logomesh_studio").__file__,
    "resources": str(resources_dir()), "workspace": str(example_workspace()),
    "icons": names, "null_icons": [n for n in names if icon(n).pixmap(16, 16).isNull()],
    "stylesheet": len(stylesheet()),
    "templates": sorted(p.name for p in (resources_dir() / "templates").iterdir()),
}))
"""


def _run(cmd: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env={**clean, **env}, text=True,
                          capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project installed from a wheel (not editable). Its
    dependencies are this environment's (a .pth file adds its site-packages after the
    venv's own): the same versions, without downloading and unpacking Qt again."""
    root = tmp_path_factory.mktemp("fresh-venv")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        root).stdout.strip())
    (purelib / "zz-test-dependencies.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if Path(p).is_dir()) + "\n")
    done = _run([python, "-m", "pip", "install", "--no-deps", "--quiet",
                 "--disable-pip-version-check", REPO], root)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def test_a_plain_install_finds_every_icon_template_and_the_example_workspace(installed, tmp_path):
    done = _run([installed / "bin" / "python", "-c", CHECK_DATA], tmp_path,
                QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    # Nothing comes from the checkout: the package and its data are the installed copies.
    for key in ("package", "resources", "workspace"):
        assert Path(found[key]).is_relative_to(installed), (key, found[key])
    assert found["icons"] == sorted(p.stem for p in (REPO / "resources" / "icons").glob("*.svg"))
    assert found["null_icons"] == []
    assert found["stylesheet"] > 0
    assert found["templates"] == sorted(p.name for p in (REPO / "resources" / "templates").iterdir())
    shipped = {p.relative_to(found["workspace"]).as_posix()
               for p in Path(found["workspace"]).rglob("*") if p.is_file()}
    tracked = subprocess.run(["git", "ls-files", "plugins"], cwd=REPO, text=True,
                             capture_output=True).stdout.split()
    assert {t.removeprefix("plugins/") for t in tracked} <= shipped


def test_the_installed_command_opens_the_window_on_the_example_workspace(installed, tmp_path):
    done = _run([installed / "bin" / "logomesh-studio"], tmp_path, QT_QPA_PLATFORM="offscreen",
                XDG_CONFIG_HOME=str(tmp_path / "config"), LOGOMESH_STUDIO_EXIT_AFTER="loaded")
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["event"] == "workspace_loaded"
    assert Path(loaded["workspace"]).is_relative_to(installed)
    assert loaded["failed"] == []
    assert set(loaded["running"]) >= {"echo", "counter", "tokenizer", "indexer", "store"}
    assert "Traceback" not in done.stderr, done.stderr


def test_the_installed_command_creates_a_plugin_from_a_template(installed, tmp_path):
    done = _run([installed / "bin" / "logomesh-studio", "new", "basic", "hello",
                 "--dir", tmp_path], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hello" / "plugin.toml").is_file()
