"""The frozen apps: Studio, and packaged copies of the example workspace, headless and
in the Studio window (PyInstaller).

Each app is built once per session (module fixtures, about two minutes each on an idle
machine) and run as a user would, with ``--self-test`` and the other commands.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path

import pytest

from logomesh_studio.bundle.build import AppRecipe, build
from logomesh_studio.examples import example_workspace

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(1800)]  # minutes under load

GOOD_INPUT = '{"id": "d1", "text": "To be, or not to be: that is the question."}'
PANES = {"Plugins", "Messages", "Logs", "Reloads", "Debugger", "Profiler", "Editor", "Tests",
         "Orchestration"}
"""Panes the window has today; the self-test finds them (and any others) by itself."""

PROBE = """
from logomesh_studio.sdk import Plugin, handler


class Probe(Plugin):
    @handler("probe")
    def probe(self, message):
        import {module}  # at run time only: the build cannot see it in the Studio app
        return {{"ok": True}}
"""


def _copy_workspace(target: Path) -> Path:
    shutil.copytree(example_workspace(), target,
                    ignore=shutil.ignore_patterns("__pycache__", ".logomesh", "*.pyc"))
    return target


def _run(app: Path, *args: str, env: dict[str, str] | None = None,
         timeout: float = 180) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # A bundled workspace keeps its state in the user's data folder: never the real one.
    user_data = str(app.parent.parent / "user-data")
    return subprocess.run([str(app), *args], capture_output=True, text=True, timeout=timeout,
                          env={**clean, "QT_QPA_PLATFORM": "offscreen",
                               "XDG_DATA_HOME": user_data, **(env or {})},
                          cwd=app.parent)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frozen-studio")
    result = build(AppRecipe(name="LogoMeshStudio"), root / "dist", root / "work",
                   progress=lambda line: None)
    return result.folder / "LogoMeshStudio"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frozen-pipeline")
    workspace = _copy_workspace(root / "workspace")
    result = build(AppRecipe(name="pipeline", workspace=workspace, gui=False,
                             orchestration=workspace / "text-pipeline.orchestration.yaml"),
                   root / "dist", root / "work", progress=lambda line: None)
    return result.folder / "pipeline"


@pytest.fixture(scope="module")
def pipeline_gui(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frozen-pipeline-gui")
    workspace = _copy_workspace(root / "workspace")
    result = build(AppRecipe(name="pipeline-gui", workspace=workspace, gui=True),
                   root / "dist", root / "work", progress=lambda line: None)
    return result.folder / "pipeline-gui"


def _window_self_test(app: Path, config: Path) -> str:
    """Run ``app --self-test`` (the window, offscreen), check that it passed having opened
    every pane, and return its output."""
    done = _run(app, "--self-test", env={"XDG_CONFIG_HOME": str(config)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test: passed" in done.stdout
    opened = {line.split("'")[1] for line in done.stdout.splitlines() if "opened (" in line}
    assert opened >= PANES
    assert "Traceback" not in done.stderr
    return done.stdout


def test_frozen_studio_self_test_opens_every_pane_and_messages_every_plugin(studio, tmp_path):
    out = _window_self_test(studio, tmp_path)
    assert "message 'tokenize' to tokenizer: handled" in out


def test_frozen_studio_runs_a_plugin_importing_any_standard_library_module(
        studio, workspace, tmp_path):
    modules = "wave, xml.dom.minidom, sqlite3, email.mime.text, curses, decimal, zoneinfo"
    workspace.plugin("probe", PROBE.format(module=modules), cls="Probe")
    done = _run(studio, "--self-test", str(workspace.root),
                env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "message 'probe' to probe: handled" in done.stdout


def test_frozen_self_test_fails_naming_a_module_the_app_lacks(studio, workspace, tmp_path):
    # Installed where the tests run, never bundled: a plugin importing it at run time fails.
    workspace.plugin("probe", PROBE.format(module="hypothesis"), cls="Probe")
    done = _run(studio, "--self-test", str(workspace.root),
                env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 1, done.stdout + done.stderr
    failure = [line for line in done.stdout.splitlines() if "FAIL" in line]
    assert any("probe" in line and "hypothesis" in line for line in failure), done.stdout


def test_frozen_studio_runs_child_processes_of_its_own(studio, tmp_path):
    # `check` imports each plugin in a child process started as `sys.executable -m ...`.
    workspace = _copy_workspace(tmp_path / "ws")
    done = _run(studio, "check", str(workspace))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 plugins found, 7 loadable, 0 with problems" in done.stderr


def test_frozen_studio_names_the_missing_xcb_library_and_its_package(studio, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    ldd = fake / "ldd"
    ldd.write_text(textwrap.dedent("""\
        #!/bin/sh
        echo "	libQt6XcbQpa.so.6 => /somewhere/libQt6XcbQpa.so.6 (0x0000)"
        echo "	libxcb-cursor.so.0 => not found"
        """))
    ldd.chmod(ldd.stat().st_mode | stat.S_IEXEC)
    done = _run(studio, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99",
                             "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
                             "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 1
    assert "libxcb-cursor.so.0" in done.stderr and "apt install libxcb-cursor0" in done.stderr
    assert "This application failed to start" not in done.stderr  # Qt's own abort


def test_packaged_workspace_self_test_loads_and_messages_every_plugin(pipeline):
    done = _run(pipeline, "--self-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "workspace loaded: 7 plugins running" in done.stdout
    assert "message 'count' to counter: handled" in done.stdout


def test_packaged_orchestration_exits_with_the_run_status(pipeline, tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    completed = _run(pipeline, "--input", GOOD_INPUT, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "completed" in completed.stdout
    failed = _run(pipeline, "--input", '{"id": "d2"}', env=env)  # no text: the first task fails
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "input has no key 'text'" in failed.stdout + failed.stderr


def test_a_packaged_app_keeps_its_run_history_in_the_users_data_folder(pipeline, tmp_path):
    # Its workspace is the installed app's files: nothing is written there.
    done = _run(pipeline, "--input", GOOD_INPUT, env={"XDG_DATA_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    bundled = pipeline.parent / "_internal" / "workspace"
    assert not (bundled / ".logomesh").exists()
    [history] = (tmp_path / "logomesh-studio" / "workspaces").glob("workspace-*/runs.sqlite")
    assert history.stat().st_size > 0
    told = _run(pipeline, "--help", env={"XDG_DATA_HOME": str(tmp_path)})  # says where
    assert f"kept in:\n  {history.parent}\n" in told.stdout


def test_packaged_gui_workspace_self_test_opens_every_pane_and_messages_every_plugin(
        pipeline_gui, tmp_path):
    out = _window_self_test(pipeline_gui, tmp_path)
    assert "workspace loaded: 7 plugins running" in out
    assert "message 'count' to counter: handled" in out


def test_built_apps_have_no_links_to_libraries_left_out(studio, pipeline, pipeline_gui):
    for app in (studio, pipeline, pipeline_gui):
        dangling = [p for p in app.parent.rglob("*") if p.is_symlink() and not p.exists()]
        assert dangling == [], app


def test_a_headless_package_carries_no_qt_nor_numpy(pipeline):
    internal = pipeline.parent / "_internal"
    assert not (internal / "PySide6").exists() and not (internal / "numpy").exists()
    assert (internal / "workspace" / "tokenizer" / "plugin.toml").is_file()
