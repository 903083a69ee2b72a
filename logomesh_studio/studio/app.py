"""Start the Studio: QApplication on a qasync loop, the runtime on its own thread.

``main(workspace)`` is what ``logomesh-studio [WORKSPACE]`` runs. Setting
``LOGOMESH_STUDIO_EXIT_AFTER=shown`` (or ``loaded``) prints one JSON line when the
window is first shown (or the workspace has loaded) and quits: the startup benchmark
and the packaged app's smoke test use it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from logomesh_studio.examples import example_workspace
from logomesh_studio.runtime.events import WorkspaceLoaded
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.platform_check import xcb_problem
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.theme import ThemeController

if TYPE_CHECKING:
    from logomesh_studio.bundle.selftest import SelfTest

ORGANIZATION = "LogoMesh"
APPLICATION = "LogoMesh Studio"
EXIT_AFTER = "LOGOMESH_STUDIO_EXIT_AFTER"


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if not isinstance(existing, QApplication):
        # Qt aborts with a generic message when its xcb plugin lacks a library: name it.
        problem = xcb_problem(argv if argv is not None else sys.argv)
        if problem is not None:
            raise SystemExit(f"logomesh-studio: {problem}")
    app = existing if isinstance(existing, QApplication) else QApplication(
        argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setDesktopFileName("logomesh-studio")
    app.setWindowIcon(icon("app"))
    return app


def _report(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "time": time.time(), **fields}), flush=True)


def _exit_after(window: MainWindow, client: RuntimeClient, when: str) -> None:
    app = create_application()
    if when == "shown":
        def shown() -> None:
            frame, screen = window.frameGeometry(), window.screen().availableGeometry()
            _report("window_shown", title=window.windowTitle(),
                    frame=[frame.x(), frame.y(), frame.width(), frame.height()],
                    screen=[screen.x(), screen.y(), screen.width(), screen.height()])
            window.close()
        window.sig_first_shown.connect(shown)
    elif when == "loaded":
        def loaded(event: WorkspaceLoaded) -> None:
            _report("workspace_loaded", workspace=event.workspace, running=list(event.running),
                    failed=list(event.failed))
            window.close()
        client.sig_workspace_loaded.connect(loaded)
    else:
        raise SystemExit(f"{EXIT_AFTER}={when!r}: expected 'shown' or 'loaded'")
    app.setQuitOnLastWindowClosed(True)


def main(workspace: Path | None = None, self_test: SelfTest | None = None) -> int:
    """Open the Studio window on ``workspace`` (default: the bundled examples). With
    ``self_test``, run it once the workspace loaded, then quit (``--self-test``)."""
    app = create_application()
    settings = QSettings()
    theme = ThemeController(app, str(settings.value("theme", "system")))
    theme.apply()
    client = RuntimeClient()
    window = MainWindow(client, settings, theme)
    exit_after = os.environ.get(EXIT_AFTER)
    if exit_after:
        _exit_after(window, client, exit_after)
    if self_test is not None:
        from logomesh_studio.studio.selftest import attach

        attach(window, client, self_test)
    window.show()
    # Paint the window first, then load the event-loop bridge and (in open) the runtime.
    app.processEvents()
    import asyncio

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window.open_workspace(workspace if workspace is not None else example_workspace())
    # Qt runs C++ most of the time; a short timer lets Python see Ctrl+C promptly.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer()
    wake.start(250)
    wake.timeout.connect(lambda: None)
    with loop:
        if window.isVisible():  # not already closed (LOGOMESH_STUDIO_EXIT_AFTER=shown)
            loop.run_forever()
        client.close_now()
    return 0
