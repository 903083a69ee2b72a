"""Show the debugger pane stopped in the example workspace's ``counter`` plugin.

    python docs/screenshots/make_debugger_screenshot.py [--theme light|dark] [--grab OUT.png]

A copy of ``plugins/`` runs (so the breakpoints file lands in a temporary folder, not in
the repository). ``counter`` is debugged with a message breakpoint on ``count`` and a
line breakpoint further down its handler; a message is sent, the first stop is
continued, and at the second the pane expands the message, evaluates two expressions
and shows two watches. Without ``--grab`` the window stays open for an external
screenshot:
``../shared/tools/xshot.sh docs/screenshots/debugger.png 10 -- python ...``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.studio.panes.debugger import DebuggerPane
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.theme import ThemeController

REPO = Path(__file__).resolve().parents[2]
TEXT = "the quick brown fox jumps over the lazy dog and the cat naps on the mat"
BREAK_AT = 'top = int(message.payload.get("top", 5))'


def start_runtime(folder: Path) -> RuntimeThread:
    workspace = Path(tempfile.mkdtemp(prefix="logomesh-debugger-shot-")) / "plugins"
    shutil.copytree(folder, workspace, ignore=shutil.ignore_patterns("__pycache__", ".logomesh"))
    runtime = RuntimeThread(workspace, RuntimeConfig(entry_points=False))
    runtime.host.bus.grant(DEVELOPER, ["send:counter"])
    runtime.start()
    return runtime


def stage(pane: DebuggerPane, runtime: RuntimeThread, done) -> None:
    """Debug counter, stop in ``count``, then expand and evaluate; ``done()`` at the end."""
    pane.debug_plugin("counter")
    source = Path(pane.code_view.path)
    line = next(n for n, text in enumerate(source.read_text().splitlines(), 1)
                if text.strip() == BREAK_AT)
    pane.client.toggle_breakpoint(str(source), line)
    pane.add_watch('len(reply["tokens"])')
    pane.add_watch("counts.most_common(2)")
    model = pane.inspector.variables_model

    def when(ready, then, tries: int = 200) -> None:
        if ready() or tries == 0:
            then()
        else:
            QTimer.singleShot(25, lambda: when(ready, then, tries - 1))

    def expand_message() -> None:
        pane.inspector.variables_view.expand(model.find("message"))
        when(lambda: model.find("message", "payload").isValid(), expand_payload)

    def expand_payload() -> None:
        pane.inspector.variables_view.expand(model.find("message", "payload"))
        for expression in ('counts["the"]', "sorted(counts)[:3]"):
            pane.console.input.setText(expression)
            pane.console.input.returnPressed.emit()
        pane.inspector.variables_view.setCurrentIndex(model.find("message", "payload"))
        when(lambda: "'and'" in pane.console.transcript.toPlainText(), done)

    def on_stopped(_path: str, stopped_line: int) -> None:
        if stopped_line != line:  # the message breakpoint, at the handler's first line
            QTimer.singleShot(200, pane.action_continue.trigger)
            return
        when(lambda: model.find("message").isValid(), expand_message)

    pane.client.set_message_breakpoint("counter", "count")
    pane.sig_stopped.connect(on_stopped)
    runtime.submit(runtime.host.bus.send(DEVELOPER, "counter", "count", {"text": TEXT, "top": 3}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--grab", metavar="OUT.png")
    options = parser.parse_args()
    app = QApplication(sys.argv)
    ThemeController(app, options.theme).apply()
    runtime = start_runtime(REPO / "plugins")
    window = QMainWindow()
    window.setWindowTitle("LogoMesh Studio — Debugger")
    window.setWindowIcon(icon("debug"))
    pane = DebuggerPane(lambda: runtime)
    window.setCentralWidget(pane)
    window.setGeometry(app.primaryScreen().availableGeometry())
    window.show()

    def finished() -> None:
        if options.grab:
            window.grab().save(options.grab)
            app.quit()

    QTimer.singleShot(300, lambda: stage(pane, runtime, finished))
    try:
        app.exec()
    finally:
        pane.shutdown()
        runtime.stop(10)


if __name__ == "__main__":
    main()
