"""Studio keeps its settings in the config home it is given: tests never touch the user's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from logomesh_studio.studio.app import APPLICATION, ORGANIZATION


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_started_studio_writes_settings_only_under_its_config_home(workspace, tmp_path):
    workspace.plugin("alpha")
    config, home = tmp_path / "config", tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(config),
           "HOME": str(home), "LOGOMESH_STUDIO_EXIT_AFTER": "loaded"}
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", str(workspace.root)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["running"] == ["alpha"]

    written = files_under(config)
    assert written == [f"{ORGANIZATION}/{APPLICATION}.conf"]
    settings = QSettings(str(config / written[0]), QSettings.Format.IniFormat)
    assert settings.value("recent_workspaces") == str(workspace.root.resolve())
    assert settings.contains("window/geometry")  # saved on close
    assert not list(home.glob(".config/LogoMesh*")), files_under(home)


def test_the_suite_runs_with_its_own_config_home(qapp):
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    real_home = Path(os.path.expanduser("~")).resolve()
    assert not config_home.resolve().is_relative_to(real_home / ".config")
    names = qapp.organizationName(), qapp.applicationName()
    QApplication.setOrganizationName(ORGANIZATION)
    QApplication.setApplicationName(APPLICATION)
    try:
        path = Path(QSettings().fileName())
    finally:
        QApplication.setOrganizationName(names[0])
        QApplication.setApplicationName(names[1])
    assert path.is_relative_to(config_home), path
