"""Open the Studio's orchestration editor on a copy of the example workspace and grab it.

    python docs/screenshots/make_orchestration_screenshots.py --state edit --grab OUT.png
    python docs/screenshots/make_orchestration_screenshots.py --state run --grab OUT.png

``edit`` opens text-pipeline, breaks one condition (its node and the problems list show
it) and selects a task so the inspector is filled. ``run`` makes the copied echo plugin
answer slowly, then runs the pipeline with the input from the file's header comment and
grabs the window while the run is live: done tasks green with durations, the running
ones highlighted, the rest pending.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

# A Studio front end like app.py, so it may import Qt (ruff bans that outside studio/).
import qasync
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.app import create_application
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.theme import ThemeController

REPO = Path(__file__).resolve().parents[2]
SLOW_ECHO = '''
    @handler("echo")
    async def echo(self, message: Message):
        import asyncio

        await asyncio.sleep(30)
        return message.payload
'''


async def until(predicate, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the Studio did not get there in time")
        await asyncio.sleep(0.05)


async def stage(window: MainWindow, client: RuntimeClient, state: str) -> None:
    pane = window.orchestration
    await until(lambda: client.state == "running" and pane.document is not None
                and pane.palette_model.rowCount() > 0)
    window.docks["orchestration"].raise_()
    window.resizeDocks([window.docks["plugins"], window.docks["orchestration"]], [230, 1330],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([window.docks["orchestration"], window.docks["logs"]], [790, 120],
                       Qt.Orientation.Vertical)
    await asyncio.sleep(0.2)
    pane.view.fit()
    if state == "edit":
        pane.select_node("long-text")
        pane.inspector.task_condition.setText("total >")
        pane.inspector.task_condition.editingFinished.emit()
        pane.select_node("store-summary")
    else:
        pane.run_monitor.action_run.trigger()
        await until(lambda: pane.scene.tasks["echo-tokens"].state == "running")
        pane.select_node("count")  # its resolved input and output in the inspector
        await until(lambda: pane.run_monitor.record is not None)
    pane.view.fit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", choices=("edit", "run"), default="edit")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--grab", type=Path, help="save the window to this PNG and quit")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="logomesh-shots-"))
    workspace = tmp / "plugins"
    shutil.copytree(REPO / "plugins", workspace,
                    ignore=shutil.ignore_patterns("__pycache__", "tests", ".logomesh"))
    if args.state == "run":
        echo = workspace / "echo" / "echo" / "__init__.py"
        source = echo.read_text()
        start = source.index('    @handler("echo")')
        end = source.index("    def execute")
        echo.write_text(source[:start] + SLOW_ECHO.lstrip("\n") + "\n" + source[end:])
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
        window.orchestration.document = None  # the staged edits are not to be saved
        QApplication.quit()

    def finished(_: object) -> None:
        if args.grab:
            QTimer.singleShot(700, grab)

    client.spawn(stage(window, client, args.state), "stage", finished)
    with loop:
        loop.run_forever()
        client.close_now()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
