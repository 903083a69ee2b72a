"""Where a workspace's state goes: the run history, isolated plugins' data, breakpoints.

Beside its plugins, in ``<workspace>/.logomesh/``, when the workspace can be written. A
workspace that cannot be is kept under the user's data folder instead, one folder per
workspace: ``$XDG_DATA_HOME/logomesh-studio/workspaces/<name>-<hash of its path>/``
(``~/.local/share/...`` by default; platformdirs' user data folder on other systems).
That is the case of:

* a packaged app's workspace, and the example workspace of a frozen Studio: they are
  the app's own installed files (under ``sys._MEIPASS``), read-only by construction,
  whatever the file modes say (an app installed by root and run by root included);
* the example workspace of an installed (not editable) Studio: it is package data
  under ``site-packages``, which is no place for a user's run history either;
* a workspace on a read-only file system, or one the user may not write
  (:func:`os.access`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import sys
from pathlib import Path

import platformdirs

from logomesh_studio.resources import package_data_dir

__all__ = ["APP_DATA_NAME", "STATE_DIR", "frozen_root", "is_read_only",
           "state_dir", "user_state_dir"]

STATE_DIR = ".logomesh"
"""The state folder's name inside a writable workspace."""
APP_DATA_NAME = "logomesh-studio"
"""The app's folder under the user's data folder."""

_log = logging.getLogger("logomesh.runtime")


def frozen_root() -> Path | None:
    """The files of the frozen app this runs in (PyInstaller's ``sys._MEIPASS``), or
    None when not frozen."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root).resolve() if root else None


def is_read_only(workspace: Path) -> bool:
    """Whether ``workspace``'s state must go elsewhere: it is part of the frozen app
    this runs in or of the installed package's data, or it exists and this process may
    not write it."""
    folder = workspace.resolve()
    root = frozen_root()
    if root is not None and folder.is_relative_to(root):
        return True
    data = package_data_dir()  # the example workspace of an installed Studio
    if data is not None and folder.is_relative_to(data):
        return True
    return folder.exists() and not os.access(folder, os.W_OK)


def user_state_dir(workspace: Path) -> Path:
    """The user's data folder for ``workspace``: named for it, and told apart from other
    workspaces of the same name by a hash of its path."""
    folder = workspace.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", folder.name) or "workspace"
    digest = hashlib.sha256(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return platformdirs.user_data_path(APP_DATA_NAME, appauthor=False) / "workspaces" / \
        f"{name}-{digest}"


def state_dir(workspace: Path | str) -> Path:
    """The folder ``workspace``'s state is kept in (not created): ``.logomesh`` inside
    it, or :func:`user_state_dir` when it :func:`is_read_only`."""
    folder = Path(workspace)
    if not is_read_only(folder):
        return folder / STATE_DIR
    elsewhere = user_state_dir(folder)
    _say_where(str(folder), str(elsewhere))
    return elsewhere


@functools.cache
def _say_where(workspace: str, elsewhere: str) -> None:
    """Log, once per workspace, where its state goes instead."""
    _log.info("workspace %s is read-only (an installed app's files, or not writable): its "
              "run history and plugin data are kept in %s", workspace, elsewhere)
