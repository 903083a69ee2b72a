"""The debugger pane on a real runtime: gutter breakpoints, stops, stepping, inspection."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest

from logomesh_studio.devtools.workspace_breakpoints import breakpoints_file
from logomesh_studio.studio.panes.debugger import DebuggerPane
from logomesh_studio.testing import DRIVER, PluginHarness
from tests.debug_plugins import ALPHA

TIMEOUT_MS = 10_000



class Debugging:
    """A pane debugging plugin ``alpha`` of a running workspace."""

    def __init__(self, qtbot, harness: PluginHarness, pane: DebuggerPane, source: Path) -> None:
        self.qtbot = qtbot
        self.h = harness
        self.pane = pane
        self.source = source

    def line(self, marker: str) -> int:
        lines = self.source.read_text().splitlines()
        return next(n for n, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))

    def click_gutter(self, line: int, button=Qt.MouseButton.LeftButton) -> None:
        view = self.pane.code_view
        y = int(view.line_top(line)) + view.fontMetrics().height() // 2
        QTest.mouseClick(view.gutter, button, Qt.KeyboardModifier.NoModifier, QPoint(8, y))

    def send(self, type: str, payload):
        """Send to alpha from another thread; a future that completes with the reply."""
        return self.h.runtime.submit(self.h.host.bus.send(DRIVER, "alpha", type, payload))

    def send_and_stop(self, type: str, payload):
        with self.qtbot.waitSignal(self.pane.sig_stopped, timeout=TIMEOUT_MS):
            reply = self.send(type, payload)
        return reply

    def wait_reply(self, reply):
        self.qtbot.waitUntil(reply.done, timeout=TIMEOUT_MS)
        return reply.result()

    def variable(self, *names: str) -> str:
        model = self.pane.inspector.variables_model
        index = model.find(*names)
        return model.data(index.siblingAtColumn(1)) if index.isValid() else None

    def press(self, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        QTest.keyClick(self.pane.code_view, key, modifier)


@pytest.fixture
def debugging(qtbot, theme, workspace, monkeypatch) -> Iterator[Debugging]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    folder = workspace.plugin("alpha", ALPHA)
    source = folder / workspace.package_name("alpha") / "__init__.py"
    harness = PluginHarness(workspace.root)
    harness.__enter__()
    pane = DebuggerPane(lambda: harness.runtime)
    qtbot.addWidget(pane)
    pane.resize(1200, 800)
    pane.show()
    qtbot.waitExposed(pane)
    try:
        assert pane.debug_plugin("alpha")
        qtbot.waitUntil(lambda: pane.plugin_id == "alpha", timeout=TIMEOUT_MS)
        yield Debugging(qtbot, harness, pane, source)
    finally:
        pane.shutdown()  # resumes a stopped runtime first, so nothing hangs
        harness.__exit__(None, None, None)


def test_debugging_a_plugin_shows_its_source(debugging):
    assert Path(debugging.pane.code_view.path) == debugging.source.resolve()
    assert "class TestPlugin" in debugging.pane.code_view.toPlainText()
    assert debugging.pane.action_pause.isEnabled()
    assert not debugging.pane.action_continue.isEnabled()


def test_gutter_breakpoint_stops_and_shows_line_stack_and_variables(debugging):
    line = debugging.line("double-compute")
    debugging.click_gutter(line)
    debugging.qtbot.waitUntil(lambda: line in debugging.pane.code_view.markers)

    reply = debugging.send_and_stop("double", {"n": 21})

    pane = debugging.pane
    assert pane.code_view.execution_line == line
    assert pane.inspector.stack_model.rowCount() == 1
    assert pane.inspector.stack_model.data(pane.inspector.stack_model.index(0)).startswith("double")
    debugging.qtbot.waitUntil(lambda: debugging.variable("payload") == "{'n': 21}")
    assert "stopped at a breakpoint in double" in pane.status_label.text()
    assert not reply.done()
    pane.action_continue.trigger()
    assert debugging.wait_reply(reply) == {"doubled": 42}


def test_f10_steps_over_and_f5_continues(debugging):
    debugging.click_gutter(debugging.line("double-first"))
    reply = debugging.send_and_stop("double", {"n": 4})
    debugging.pane.code_view.setFocus()

    with debugging.qtbot.waitSignal(debugging.pane.sig_stopped, timeout=TIMEOUT_MS):
        debugging.press(Qt.Key.Key_F10)

    assert debugging.pane.code_view.execution_line == debugging.line("double-compute")
    with debugging.qtbot.waitSignal(debugging.pane.sig_resumed, timeout=TIMEOUT_MS):
        debugging.press(Qt.Key.Key_F5)
    assert debugging.wait_reply(reply) == {"doubled": 8}
    assert debugging.pane.code_view.execution_line is None


def test_gui_stays_responsive_while_the_runtime_is_stopped(debugging, qtbot):
    debugging.click_gutter(debugging.line("double-compute"))
    reply = debugging.send_and_stop("double", {"n": 3})
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)

    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=TIMEOUT_MS)
    debugging.pane.console.input.setText("payload['n'] * 100")
    QTest.keyClick(debugging.pane.console.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "300" in debugging.pane.console.transcript.toPlainText(),
                    timeout=TIMEOUT_MS)

    timer.stop()
    assert not reply.done()
    debugging.pane.action_continue.trigger()
    debugging.wait_reply(reply)


def test_variables_expand_lazily(debugging, qtbot):
    debugging.click_gutter(debugging.line("double-compute"))
    reply = debugging.send_and_stop("double", {"n": 5, "tags": ["a", "b"]})
    qtbot.waitUntil(lambda: debugging.variable("payload") is not None, timeout=TIMEOUT_MS)
    model, view = debugging.pane.inspector.variables_model, debugging.pane.inspector.variables_view
    assert model.rowCount(model.find("payload")) == 0

    view.expand(model.find("payload"))
    qtbot.waitUntil(lambda: debugging.variable("payload", "'tags'") is not None,
                    timeout=TIMEOUT_MS)
    view.expand(model.find("payload", "'tags'"))
    qtbot.waitUntil(lambda: debugging.variable("payload", "'tags'", "[1]") == "'b'",
                    timeout=TIMEOUT_MS)

    debugging.pane.action_continue.trigger()
    debugging.wait_reply(reply)


def test_watches_are_evaluated_at_each_stop(debugging, qtbot):
    debugging.pane.add_watch("payload['n'] * 10")
    debugging.click_gutter(debugging.line("double-compute"))
    watch = debugging.pane.inspector.watch_model

    def watched() -> str:
        return watch.data(watch.index(0, 1))

    for n in (1, 2):
        reply = debugging.send_and_stop("double", {"n": n})
        qtbot.waitUntil(lambda n=n: watched() == str(n * 10), timeout=TIMEOUT_MS)
        debugging.pane.action_continue.trigger()
        debugging.wait_reply(reply)


def test_message_breakpoint_from_the_editor_stops_before_the_handler(debugging, qtbot):
    panel = debugging.pane.breakpoints_panel
    panel.plugin_box.setCurrentText("alpha")
    qtbot.waitUntil(lambda: panel.type_box.findText("later") >= 0, timeout=TIMEOUT_MS)
    panel.type_box.setCurrentText("later")
    panel.action_add.trigger()
    assert panel.model.rowCount() == 1

    reply = debugging.send_and_stop("later", 7)

    assert debugging.pane.code_view.execution_line == debugging.line("later-first")
    assert f"before alpha handles “later” from {DRIVER}" in debugging.pane.status_label.text()
    debugging.pane.action_continue.trigger()
    assert debugging.wait_reply(reply) == {"later": 7}


def test_condition_from_the_gutter_menu_decides_the_stop(debugging, qtbot, monkeypatch):
    line = debugging.line("double-compute")
    monkeypatch.setattr(debugging.pane, "_ask_text", lambda *args: "payload['n'] > 5")
    menu = debugging.pane.code_view.breakpoint_menu(line)
    next(a for a in menu.actions() if a.text() == "Add Conditional Breakpoint…").trigger()
    qtbot.waitUntil(lambda: line in debugging.pane.code_view.markers)
    assert debugging.pane.code_view.markers[line].conditional

    assert debugging.wait_reply(debugging.send("double", {"n": 1})) == {"doubled": 2}
    reply = debugging.send_and_stop("double", {"n": 10})
    debugging.pane.action_continue.trigger()
    assert debugging.wait_reply(reply) == {"doubled": 20}


def test_stop_debugging_while_stopped_lets_the_runtime_run_on(debugging, qtbot):
    debugging.click_gutter(debugging.line("double-first"))
    reply = debugging.send_and_stop("double", {"n": 2})

    with qtbot.waitSignal(debugging.pane.sig_session_ended, timeout=TIMEOUT_MS):
        debugging.pane.action_stop.trigger()

    assert debugging.wait_reply(reply) == {"doubled": 4}
    assert debugging.pane.plugin_id == ""
    assert not debugging.pane.action_continue.isEnabled()
    assert debugging.h.send("alpha", "later", 1) == {"later": 1}


def test_breakpoints_persist_in_the_workspace(debugging, qtbot, workspace):
    line = debugging.line("double-return")
    debugging.click_gutter(line)
    qtbot.waitUntil(lambda: line in debugging.pane.code_view.markers)

    saved = json.loads(breakpoints_file(workspace.root).read_text())
    assert [(bp["path"], bp["line"]) for bp in saved["source"]] == [
        (debugging.source.relative_to(workspace.root).as_posix(), line)]
    other = DebuggerPane(lambda: debugging.h.runtime)
    qtbot.addWidget(other)
    other.open_source(str(debugging.source))
    assert line in other.code_view.markers
    other.shutdown()


def test_open_source_shows_a_file_at_a_line(debugging, tmp_path):
    path = tmp_path / "notes.py"
    path.write_text("".join(f"value_{n} = {n}\n" for n in range(1, 200)))

    debugging.pane.open_source(str(path), 150)

    assert debugging.pane.code_view.path == str(path)
    assert debugging.pane.code_view.cursor_line() == 150


def test_pause_stops_a_busy_handler(debugging, qtbot):
    reply = debugging.send("spin", None)
    plugin = debugging.h.host.instance("alpha")
    qtbot.waitUntil(lambda: plugin.data.get("spinning"), timeout=TIMEOUT_MS)

    with qtbot.waitSignal(debugging.pane.sig_stopped, timeout=TIMEOUT_MS):
        debugging.pane.action_pause.trigger()

    assert debugging.pane.inspector.stack_model.data(debugging.pane.inspector.stack_model.index(0)).startswith("spin")
    assert "paused in spin" in debugging.pane.status_label.text()
    plugin.data["done"] = True
    debugging.pane.action_continue.trigger()
    assert debugging.wait_reply(reply) == "done"


def test_hot_reload_refreshes_the_shown_code_and_keeps_the_breakpoint(debugging, qtbot):
    line = debugging.line("double-compute")
    debugging.click_gutter(line)
    shown = os.stat(debugging.source).st_mtime
    debugging.source.write_text(debugging.source.read_text().replace(
        'payload["n"] * 2', 'payload["n"] * 7'))
    os.utime(debugging.source, (shown + 1, shown + 1))  # a new mtime on coarse file systems

    assert debugging.h.reload("alpha")

    qtbot.waitUntil(lambda: "* 7" in debugging.pane.code_view.toPlainText(), timeout=TIMEOUT_MS)
    assert line in debugging.pane.code_view.markers
    reply = debugging.send_and_stop("double", {"n": 1})
    debugging.pane.action_continue.trigger()
    assert debugging.wait_reply(reply) == {"doubled": 7}


def test_console_recalls_history_with_up_and_down(debugging):
    console = debugging.pane.console
    for expression in ("1 + 1", "2 + 2"):
        console.input.setText(expression)
        QTest.keyClick(console.input, Qt.Key.Key_Return)

    QTest.keyClick(console.input, Qt.Key.Key_Up)
    assert console.input.text() == "2 + 2"
    QTest.keyClick(console.input, Qt.Key.Key_Up)
    assert console.input.text() == "1 + 1"
    QTest.keyClick(console.input, Qt.Key.Key_Down)
    assert console.input.text() == "2 + 2"
    assert "not stopped" in console.transcript.toPlainText()


def test_debugging_without_a_runtime_or_with_an_unknown_plugin_says_why(qtbot, debugging):
    idle = DebuggerPane(lambda: None)
    qtbot.addWidget(idle)

    assert not idle.debug_plugin("alpha")
    assert "no workspace is running" in idle.status_label.text()
    assert not debugging.pane.debug_plugin("missing")
    assert "Cannot debug missing" in debugging.pane.status_label.text()
    assert debugging.pane.plugin_id == "alpha"  # the session goes on
    idle.shutdown()


def test_stop_on_raised_exceptions_shows_where_the_handler_raised(debugging, qtbot):
    debugging.pane.action_stop_on_raised.trigger()

    reply = debugging.send_and_stop("fail", 3)

    assert debugging.pane.code_view.execution_line == debugging.line("fail-raise")
    assert "ValueError: bad input 3" in debugging.pane.status_label.text()
    debugging.pane.action_continue.trigger()
    qtbot.waitUntil(reply.done, timeout=TIMEOUT_MS)
    assert "bad input 3" in str(reply.exception())
