"""Show the author's loop: a plugin file in the editor, its tests run with coverage.

    python docs/screenshots/make_authoring_screenshot.py [--theme light|dark] [--grab OUT.png]

A copy of ``plugins/`` (with one extra failing test, so failure details show) opens in
Studio; ``counter``'s tests open in the editor with an unsaved edit, its code beside
them; every plugin's tests run (coverage shades the code's gutter), the find bar looks
for ``top`` and the failure is selected in the tests pane. Without
``--grab`` the window stays open for an external screenshot
(``../shared/tools/xshot.sh docs/screenshots/authoring.png 40 -- python ...``).
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
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.app import create_application
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.theme import ThemeController

REPO = Path(__file__).resolve().parents[2]
FAILING = '''

def test_top_words_come_most_frequent_first(harness):
    reply = harness.send("counter", "count", {"text": "b a b", "top": 1})
    assert reply["top"] == [["a", 1]]
'''


async def until(predicate, timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the Studio did not get there in time")
        await asyncio.sleep(0.05)


async def populate(window: MainWindow, client: RuntimeClient, workspace: Path) -> None:
    await until(lambda: client.state == "running" and client.watching)
    authoring = window.authoring
    tests_file = workspace / "counter" / "tests" / "test_counter.py"
    edited = authoring.open_file(str(tests_file), 7)
    edited.textCursor().insertText("    # TODO: a text with ties\n")  # unsaved: the tab's dot
    source = workspace / "counter" / "counter" / "__init__.py"
    authoring.open_file(str(source))
    tests = authoring.tests
    tests.run_all()
    await until(lambda: not tests.running)
    authoring.editor.action_find.trigger()
    authoring.editor.find_bar.find_field.setText("top")
    authoring.editor.find_bar.find_next()
    failed = tests.model.failed_tests()
    if failed:
        tests.select_test(failed[0].key)
    window.docks["tests"].raise_()
    window.docks["editor"].raise_()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--grab", type=Path, help="save the window to this PNG and quit")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="logomesh-authoring-shot-"))
    workspace = tmp / "plugins"
    shutil.copytree(REPO / "plugins", workspace,
                    ignore=shutil.ignore_patterns("__pycache__", ".logomesh"))
    counter_tests = workspace / "counter" / "tests" / "test_counter.py"
    counter_tests.write_text(counter_tests.read_text() + FAILING)
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

    def finished(_: object) -> None:
        if args.grab:
            QTimer.singleShot(1500, lambda: (window.grab().save(str(args.grab)),
                                            QApplication.quit()))

    client.spawn(populate(window, client, workspace), "populate", finished)
    with loop:
        loop.run_forever()
        client.close_now()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
