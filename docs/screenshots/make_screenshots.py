"""Open the Studio on a copy of the example workspace and give every pane something to show.

    python docs/screenshots/make_screenshots.py [--theme light|dark] [--pane logs|reloads]
                                               [--grab OUT.png]

It sends messages (a workflow, one from Studio itself, a refused and a failing one),
saves an edit to a plugin so it hot-reloads, breaks another so its reload fails, then
selects rows so the detail views are filled. Without ``--grab`` the window stays open for an external
screenshot (``../shared/tools/xshot.sh docs/screenshots/main.png 10 -- python ...``).
"""

from __future__ import annotations

from pathlib import Path

from _studio_shot import arguments, copy_examples, show_studio, until

from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow

DOCS = [
    ("intro", "LogoMesh plugins talk through a permission checked bridge"),
    ("reload", "Saved edits reload the running plugin with its state intact"),
    ("inspect", "Every message is recorded with its payload and response"),
    ("logs", "Plugins log through their context and the Studio shows it"),
]


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
    parser = arguments(__doc__)
    parser.add_argument("--pane", choices=("logs", "reloads"), default="logs",
                        help="which of the tabbed bottom panes to raise")
    args = parser.parse_args()
    tmp, workspace = copy_examples("logomesh-shots-", "tests")
    return show_studio(tmp, workspace, args,
                       lambda window, client, ws: populate(window, client, ws, args.pane))


if __name__ == "__main__":
    raise SystemExit(main())
