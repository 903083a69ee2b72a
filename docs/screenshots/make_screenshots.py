"""Open the Studio on a copy of the example workspace and give every pane something to show.

    python docs/screenshots/make_screenshots.py [--theme light|dark] [--pane logs|reloads]
                                               [--grab OUT.png]

It sends messages (a workflow, one from Studio itself, a refused and a failing one),
saves an edit to a plugin so it hot-reloads, breaks another so its reload fails, then
selects rows so the detail views are filled. Without ``--grab`` the window stays open for an external
screenshot (``../shared/tools/xshot.sh docs/screenshots/main.png 10 -- python ...``).
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
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.studio.app import create_application
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.theme import ThemeController

REPO = Path(__file__).resolve().parents[2]
DOCS = [
    ("intro", "LogoMesh plugins talk through a permission checked bridge"),
    ("reload", "Saved edits reload the running plugin with its state intact"),
    ("inspect", "Every message is recorded with its payload and response"),
    ("logs", "Plugins log through their context and the Studio shows it"),
]


async def until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the Studio did not get there in time")
        await asyncio.sleep(0.05)


async def quietly(coro) -> None:
    try:
        await coro
    except Exception:  # refused and failing messages are part of the show
        return


async def populate(window: MainWindow, client: RuntimeClient, workspace: Path,
                   pane: str) -> None:
    await until(lambda: client.state == "running" and client.watching)
    for doc_id, text in DOCS:
        await client.call("execute", plugin_id="coordinator", input={"id": doc_id, "text": text})
    await client.send("coordinator", "indexer", "lookup", {"id": "intro"})
    await client.send(DEVELOPER, "echo", "echo", {"hello": "from Studio"})
    await quietly(client.send("counter", "store", "put", {"key": "x", "value": 1}))
    await quietly(client.send("indexer", "store", "put", {"value": "no key"}))
    await quietly(client.send("coordinator", "echo", "shout", {"hello": "world"}))

    tokenizer = workspace / "tokenizer" / "tokenizer" / "__init__.py"
    tokenizer.write_text(tokenizer.read_text() + "\n# tuned the tokenizer\n")
    await until(lambda: any(e.plugin_id == "tokenizer" and e.outcome == "ok"
                            for e in window.reloads.model.records))
    archive = workspace / "archive" / "archive" / "__init__.py"
    archive.write_text(archive.read_text().replace("def execute(self, input):",
                                                   "def execute(self, input)", 1))
    await until(lambda: "archive" in window.plugins.model.reload_errors)
    for doc_id, text in DOCS[:2]:
        await client.send("coordinator", "indexer", "index", {"id": doc_id + "-2", "text": text})
    await until(lambda: window.messages.model.rowCount() > 30)

    window.plugins.select_plugin("archive")
    tree = window.plugins.tree
    for pid in ("coordinator", "archive"):
        tree.expand(window.plugins.proxy.mapFromSource(window.plugins.model.plugin_index(pid)))
    coordinator = window.plugins.proxy.mapFromSource(
        window.plugins.model.plugin_index("coordinator"))
    for row in range(window.plugins.proxy.rowCount(coordinator)):
        child = window.plugins.proxy.index(row, 0, coordinator)
        if str(child.data()).startswith(("Connections", "Permissions")):
            tree.expand(child)
    messages = window.messages
    row = next(i for i, m in enumerate(messages.model.records)
               if m.type == "index" and m.source == "coordinator")
    messages.table.selectRow(row)
    messages.payload_view.expandAll()
    messages.response_view.expandAll()
    logs = window.logs
    row = next((i for i, r in enumerate(logs.model.records) if r.traceback), 0)
    logs.table.selectRow(row)
    reloads = window.reloads
    reloads.table.selectRow(reloads.model.rowCount() - 1)
    if pane in window.docks:
        window.docks[pane].raise_()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--pane", choices=("logs", "reloads"), default="logs",
                        help="which of the tabbed bottom panes to raise")
    parser.add_argument("--grab", type=Path, help="save the window to this PNG and quit")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="logomesh-shots-"))
    workspace = tmp / "plugins"
    shutil.copytree(REPO / "plugins", workspace,
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
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

    client.spawn(populate(window, client, workspace, args.pane), "populate", finished)
    with loop:
        loop.run_forever()
        client.close_now()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
