"""Profile the example workspace under load and show the profiler pane on the result.

    python docs/screenshots/make_profiler_screenshots.py flame|diff [--theme light|dark]
                                                         [--grab OUT.png]

Two real recordings of the runtime thread while the coordinator's text pipeline runs
flat out: "before" indexes short documents, "after" documents ten times longer. ``flame``
shows "after" (left heavy); ``diff`` compares it with "before"; a frame is hovered in both.
Without ``--grab`` the window stays open for an external screenshot:
``../shared/tools/xshot.sh docs/screenshots/profiler-flame.png 12 -- python ... flame``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication, QToolTip

from logomesh_studio.devtools.profiler import Profile, record_thread
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.sdk import PluginError
from logomesh_studio.studio.panes.profiler import ProfilerPane
from logomesh_studio.studio.theme import ThemeController

REPO = Path(__file__).resolve().parents[2]
SENTENCE = "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat "


async def _drive(runtime: RuntimeThread, text: str, stop: asyncio.Event) -> None:
    bus = runtime.host.bus
    loop = asyncio.get_running_loop()
    count = 0
    while not stop.is_set():
        until = loop.time() + 0.02
        while loop.time() < until:
            count += 1
            try:
                await bus.send(DEVELOPER, "coordinator", "process", {"id": f"d{count}", "text": text})
            except PluginError:
                pass
        await asyncio.sleep(0)


def record(runtime: RuntimeThread, text: str, seconds: float, name: str) -> Profile:
    """Sample the runtime thread while it processes ``text`` over and over."""
    roots = {p.id: p.folder for p in runtime.host.plugins()}
    stop = asyncio.Event()
    driver = runtime.submit(_drive(runtime, text, stop))
    try:
        return record_thread(runtime.thread.ident, seconds, 0.001, roots,
                             switch_interval=0.0005, name=name)
    finally:
        runtime.call_soon(stop.set)
        driver.result(10)


def start_runtime() -> RuntimeThread:
    runtime = RuntimeThread(REPO / "plugins")
    runtime.host.bus.grant(DEVELOPER, ["send:coordinator"])
    runtime.start()
    return runtime


def stage(pane: ProfilerPane, which: str, before: Profile, after: Profile) -> None:
    pane.load_profile(after, "long documents (2.5 s recording)")
    if which == "diff":
        pane.compare_with(before, "short documents (2.5 s recording)")


def hover(pane: ProfilerPane, name: str) -> None:
    """Hover the widest frame of function ``name`` and show its tooltip, as a user would."""
    chart = pane.chart
    layout = chart.layout_data
    nodes = [i for i in range(len(layout)) if layout.frames[layout.frame[i]].name == name]
    if not nodes:
        return
    node = max(nodes, key=lambda i: layout.width[i])
    chart.item.set_hovered(node)
    chart.item.sig_node_hovered.emit(node)
    where = chart.plot.viewport().mapToGlobal(chart.node_point(node) + QPoint(-40, 16))
    QToolTip.showText(where, chart.node_tooltip(node), chart.plot.viewport())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("flame", "diff"))
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--grab", metavar="OUT.png")
    args = parser.parse_args(argv)
    runtime = start_runtime()
    try:
        before = record(runtime, SENTENCE * 2, args.seconds, "short documents")
        after = record(runtime, SENTENCE * 20, args.seconds, "long documents")
        app = QApplication.instance() or QApplication(sys.argv[:1])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        ThemeController(app, args.theme).apply()

        async def recorder(seconds: float) -> Profile:
            return await asyncio.to_thread(record, runtime, SENTENCE * 20, seconds, "recording")

        pane = ProfilerPane(record=recorder)
        pane.setWindowTitle("LogoMesh Studio — Profiler")
        pane.setGeometry(app.primaryScreen().availableGeometry())
        stage(pane, args.which, before, after)
        pane.show()
        QTimer.singleShot(400, lambda: hover(pane, "CounterPlugin.count"))
        if args.grab:
            QTimer.singleShot(700, lambda: (pane.grab().save(args.grab), app.quit()))
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
