"""What the Studio screenshot scripts share: a throwaway copy of the example workspace, the
real main window opened on it, a coroutine that stages what the picture shows, and the grab.

    parser = arguments(__doc__)          # --theme and --grab, plus the script's own options
    tmp, workspace = copy_examples("logomesh-shots-", "tests")
    ...                                  # edit the copy if the picture needs it
    return show_studio(tmp, workspace, args, stage)

Without ``--grab`` the window stays open for an external screenshot (xshot.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

# A Studio front end like app.py, so it may import Qt (ruff bans that outside studio/).
import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.app import create_application
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.theme import ThemeController

REPO = Path(__file__).resolve().parents[2]
Stage = Callable[[MainWindow, RuntimeClient, Path], Coroutine[Any, Any, None]]


async def until(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    """Wait (on the Studio's own loop) until ``predicate()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the Studio did not get there in time")
        await asyncio.sleep(0.05)


def arguments(doc: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--grab", type=Path, help="save the window to this PNG and quit")
    return parser


def copy_examples(prefix: str, *leave_out: str) -> tuple[Path, Path]:
    """A temporary folder and, inside it, a copy of ``plugins/`` without ``leave_out``."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    workspace = tmp / "plugins"
    shutil.copytree(REPO / "plugins", workspace,
                    ignore=shutil.ignore_patterns("__pycache__", ".logomesh", *leave_out))
    return tmp, workspace


def show_studio(tmp: Path, workspace: Path, args: argparse.Namespace, stage: Stage,
                grab_delay_ms: int = 1500,
                after_grab: Callable[[MainWindow], None] | None = None) -> int:
    """Open Studio on ``workspace`` (settings in ``tmp``), run ``stage``, grab, clean up."""
    app = create_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = QSettings(str(tmp / "studio.ini"), QSettings.Format.IniFormat)
    theme = ThemeController(app, args.theme)
    theme.apply()
    client = RuntimeClient(RuntimeConfig(entry_points=False))
    window = MainWindow(client, settings, theme)
    window.resize(1560, 960)
    window.move(20, 20)
    window.show()
    window.open_workspace(workspace)

    def grab() -> None:
        window.grab().save(str(args.grab))
        if after_grab is not None:
            after_grab(window)
        QApplication.quit()

    def finished(_: object) -> None:
        if args.grab:
            QTimer.singleShot(grab_delay_ms, grab)

    client.spawn(stage(window, client, workspace), "stage", finished)
    with loop:
        loop.run_forever()
        client.close_now()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0
