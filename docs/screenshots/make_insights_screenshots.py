"""Run a small workspace with typical plugin problems in the Studio, Insights raised.

    python docs/screenshots/make_insights_screenshots.py findings|metrics [WORKSPACE]

Writes the demo workspace (a blocking image resizer, a parser failing on a third of its
records, a front end chattering with a collector and calling a plugin it may not, an
exporter sending 365 KiB at a time) to WORKSPACE (default: a temporary folder), opens it
in the Studio and raises the Insights dock: ``findings`` selects the first finding after
24 s, ``metrics`` shows the resizer's Metrics tab. Take the picture from outside:
``../shared/tools/xshot.sh docs/screenshots/insights.png 30 -- python ... findings``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from logomesh_studio.studio import main_window
from logomesh_studio.studio.app import main

PLUGINS = {
    "resizer": ([], """
        import time
        from logomesh_studio.sdk import Plugin, handler


        class Plugin_(Plugin):
            @handler("resize")
            def resize(self, message):
                time.sleep(0.12)  # stands in for a CPU-heavy image library call
                return {"width": message.payload["width"] // 2}
    """),
    "parser": ([], """
        from logomesh_studio.sdk import Plugin, handler


        class Plugin_(Plugin):
            @handler("parse")
            def parse(self, message):
                fields = message.payload.split(",")
                return {"id": int(fields[0]), "name": fields[1]}
    """),
    "collector": ([], """
        from logomesh_studio.sdk import Plugin, handler


        class Plugin_(Plugin):
            def initialize(self, ctx):
                self.ctx, self.count = ctx, 0

            @handler("tick")
            def tick(self, message):
                self.count += 1
                return self.count

            @handler("export")
            def export(self, message):
                return {"rows": len(message.payload)}
    """),
    "gateway": (["send:resizer:*", "send:parser:parse", "send:collector:*", "send:archive:*"], """
        import asyncio
        from logomesh_studio.sdk import Plugin, PluginError


        class Plugin_(Plugin):
            async def initialize(self, ctx):
                self.ctx = ctx
                self.tasks = [asyncio.get_running_loop().create_task(job())
                              for job in (self.images, self.records, self.telemetry)]

            async def images(self):
                while True:
                    await self.ctx.send("resizer", "resize", {"width": 640})
                    await asyncio.sleep(1.0)

            async def records(self):
                lines = ["1,alpha", "2,beta", "oops", "4,delta", "5,epsilon", "x,zeta"]
                while True:
                    for line in lines:
                        try:
                            await self.ctx.send("parser", "parse", line)
                        except PluginError:
                            pass
                    try:
                        await self.ctx.send("billing", "charge", {"cents": 5})
                    except PluginError:
                        pass
                    await asyncio.sleep(0.2)

            async def telemetry(self):
                while True:
                    for n in range(40):
                        await self.ctx.send("collector", "tick", n)
                    await asyncio.sleep(0.01)

            def cleanup(self):
                for task in self.tasks:
                    task.cancel()
    """),
    "exporter": (["send:collector:export"], """
        import asyncio
        from logomesh_studio.sdk import Plugin


        class Plugin_(Plugin):
            async def initialize(self, ctx):
                self.ctx = ctx
                self.task = asyncio.get_running_loop().create_task(self.run())

            async def run(self):
                rows = [{"id": i, "name": f"row {i}", "tags": ["a", "b"]} for i in range(8000)]
                while True:
                    await self.ctx.send("collector", "export", rows)
                    await asyncio.sleep(2)

            def cleanup(self):
                self.task.cancel()
    """),
}


def write_workspace(root: Path) -> Path:
    for plugin_id, (permissions, code) in PLUGINS.items():
        package = root / plugin_id / plugin_id
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(textwrap.dedent(code).lstrip())
        (root / plugin_id / "plugin.toml").write_text(
            f'id = "{plugin_id}"\nname = "{plugin_id.title()}"\nversion = "1.0.0"\n'
            f'entry = "{plugin_id}:Plugin_"\npermissions = {json.dumps(permissions)}\n')
    return root


def raise_insights(window: main_window.MainWindow, tab: int) -> None:
    dock = window.docks["insights"]
    dock.show()
    dock.raise_()
    window.resizeDocks([window.docks["messages"], dock], [260, 640], Qt.Orientation.Vertical)
    window.insights.tabs.setCurrentIndex(tab)
    if tab == 1:
        window.insights.metrics.select_plugin("resizer")


def main_with_insights(view: str, workspace: Path) -> int:
    tab = 1 if view == "metrics" else 0
    original = main_window.MainWindow.__init__

    def init(self: main_window.MainWindow, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        QTimer.singleShot(1500, lambda: raise_insights(self, tab))
        if tab == 0:
            QTimer.singleShot(24_000, lambda: self.insights.table.selectRow(0))

    main_window.MainWindow.__init__ = init  # type: ignore[method-assign]
    return main(write_workspace(workspace))


if __name__ == "__main__":
    view = sys.argv[1] if len(sys.argv) > 1 else "findings"
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
    sys.exit(main_with_insights(view, folder))
