"""Where a workspace's state (run history, isolated plugins' data, breakpoints) goes: in
the workspace, or under the user's data folder when the workspace is read-only.

The tests run as root, which writes whatever the file modes say, so "read-only" is
reached the two ways that hold for root too: the workspace is a frozen app's own files
(``sys._MEIPASS``), or the system says it cannot be written (``os.access``, as on a
read-only mount).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from argparse import Namespace
from pathlib import Path

import pytest

import logomesh_studio
from logomesh_studio.devtools.workspace_breakpoints import breakpoints_file
from logomesh_studio.orchestration.commands import cmd_orchestrate
from logomesh_studio.orchestration.store import workspace_store_path
from logomesh_studio.resources import package_data_dir
from logomesh_studio.runtime import workspace_state
from logomesh_studio.runtime.isolation.supervisor import data_dir
from logomesh_studio.runtime.workspace_state import (
    is_read_only,
    state_dir,
    user_state_dir,
)


@pytest.fixture
def user_data(tmp_path, monkeypatch) -> Path:
    """The user's data folder (XDG_DATA_HOME), in tmp_path."""
    folder = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    return folder / "logomesh-studio" / "workspaces"


@pytest.fixture
def frozen_app(tmp_path, monkeypatch) -> Path:
    """A frozen app's files (PyInstaller's sys._MEIPASS) with a bundled workspace."""
    root = tmp_path / "App" / "_internal"
    (root / "workspace").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(root), raising=False)
    return root


def refuse_writes_to(monkeypatch, folder: Path) -> None:
    """``os.access`` says ``folder`` cannot be written, as on a read-only mount."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path).resolve() == folder.resolve() and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_a_writable_workspace_keeps_its_state_inside_it(tmp_path, user_data):
    assert not is_read_only(tmp_path)
    assert state_dir(tmp_path) == tmp_path / ".logomesh"
    assert workspace_store_path(tmp_path) == tmp_path / ".logomesh" / "runs.sqlite"
    assert breakpoints_file(tmp_path) == tmp_path / ".logomesh" / "breakpoints.json"
    assert data_dir(tmp_path, "echo") == tmp_path / ".logomesh" / "data" / "echo"


def test_a_frozen_apps_own_workspace_keeps_its_state_in_the_users_data_folder(
        frozen_app, user_data, tmp_path):
    workspace = frozen_app / "workspace"
    assert is_read_only(workspace)
    where = state_dir(workspace)
    assert where.parent == user_data and where.name.startswith("workspace-")
    assert workspace_store_path(workspace) == where / "runs.sqlite"
    assert data_dir(workspace, "echo") == where / "data" / "echo"
    assert breakpoints_file(workspace) == where / "breakpoints.json"
    # a workspace the frozen app opens from elsewhere is the user's: state stays in it
    (tmp_path / "mine").mkdir()
    assert state_dir(tmp_path / "mine") == tmp_path / "mine" / ".logomesh"


def test_an_installed_studios_example_workspace_keeps_its_state_out_of_site_packages(
        tmp_path, user_data, monkeypatch):
    # A non-editable install: the example workspace is package data, writable by its
    # owner but no place for run history.
    package_data = tmp_path / "site-packages" / "logomesh_studio" / "_data"
    example = package_data / "plugins"
    example.mkdir(parents=True)
    monkeypatch.setattr(workspace_state, "package_data_dir", lambda: package_data)
    assert is_read_only(example)
    assert state_dir(example).parent == user_data
    assert workspace_store_path(example).parent == state_dir(example)
    # a checkout's own example workspace (no package data around it) keeps its state
    checkout = tmp_path / "checkout" / "plugins"
    checkout.mkdir(parents=True)
    assert state_dir(checkout) == checkout / ".logomesh"


def test_the_package_data_folder_is_the_installed_packages_own():
    assert package_data_dir() == Path(logomesh_studio.__file__).resolve().parent / "_data"


def test_a_workspace_the_system_will_not_let_us_write_uses_the_users_data_folder(
        tmp_path, user_data, monkeypatch):
    workspace = tmp_path / "mounted"
    workspace.mkdir()
    refuse_writes_to(monkeypatch, workspace)
    assert is_read_only(workspace)
    assert state_dir(workspace).parent == user_data


def test_read_only_workspaces_of_the_same_name_get_folders_of_their_own(tmp_path, user_data):
    first, second = tmp_path / "a" / "pipeline", tmp_path / "b" / "pipeline"
    assert user_state_dir(first) != user_state_dir(second)
    assert user_state_dir(first).name.startswith("pipeline-")
    assert user_state_dir(first) == user_state_dir(first / ".." / "pipeline")


WORKER = """
from logomesh_studio.sdk import Plugin, handler


class Worker(Plugin):
    @handler("work")
    def work(self, message):
        return {"by": "alpha", "got": message.payload}
"""
ORCHESTRATION = """
name: cli
initiator: boss
participants: [alpha]
phases:
  - name: one
    tasks:
      - {name: first, target: alpha, type: work, input: "${input.word}"}
"""


def test_an_orchestration_run_in_a_frozen_apps_workspace_writes_nothing_into_it(
        workspace, user_data, monkeypatch, capsys):
    """The packaged headless app runs its bundled orchestration this way."""
    workspace.plugin("alpha", WORKER, cls="Worker")
    workspace.plugin("boss", permissions=["send:*"])
    plan = workspace.root / "cli.orchestration.yaml"
    plan.write_text(textwrap.dedent(ORCHESTRATION))
    monkeypatch.setattr(sys, "_MEIPASS", str(workspace.root.parent), raising=False)

    def files() -> list[Path]:
        return sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*")
                      if "__pycache__" not in p.parts)

    before = files()
    code = cmd_orchestrate(Namespace(file=plan, workspace=workspace.root, resume=None,
                                     input=json.dumps({"word": "hi"}), json=True))
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out)["status"] == "completed"
    assert files() == before
    [history] = user_data.glob("*/runs.sqlite")
    assert history.parent.name.startswith(f"{workspace.root.name}-")
