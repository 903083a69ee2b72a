"""The editor: tabs of workspace files, save -> hot reload, dirty marker, disk changes."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.widgets.editor_tabs import (
    CANCEL,
    DIRTY_MARK,
    DISCARD,
    KEEP_MINE,
    RELOAD,
    EditorTabs,
)
from logomesh_studio.studio.widgets.find_bar import FindBar

TIMEOUT_MS = 10_000

VERSION_1 = '''from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        return {"version": 1}
'''


class Answers:
    """Stands in for the user: answers prompts in order and remembers what was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str, tuple[str, ...]]] = []

    def __call__(self, title: str, text: str, choices) -> str:
        self.asked.append((title, text, tuple(choices)))
        return self.answers.pop(0)


def make_tabs(qtbot, answers: Answers | None = None) -> EditorTabs:
    tabs = EditorTabs()
    qtbot.addWidget(tabs)
    tabs.resize(700, 500)
    tabs.show()
    tabs.prompt = answers or Answers()
    return tabs


def type_text(qtbot, view, text: str) -> None:
    """Type ``text`` as keys; a newline is the Return key (QTest has no key for "\\n")."""
    view.setFocus()
    for i, line in enumerate(text.split("\n")):
        if i:
            QTest.keyClick(view, Qt.Key.Key_Return)
        if line:
            QTest.keyClicks(view, line)


def plugin_file(workspace, plugin_id: str) -> Path:
    return workspace.root / plugin_id / workspace.package_name(plugin_id) / "__init__.py"


# -- in the window, on a real runtime ---------------------------------------------------------

def test_saving_an_edit_writes_the_file_and_the_plugin_hot_reloads(studio, workspace):
    workspace.plugin("alpha", VERSION_1)
    workspace.plugin("beta", permissions=["send:alpha"])
    studio.open(workspace.root)
    path = plugin_file(workspace, "alpha")
    editor = studio.window.authoring.editor
    view = studio.window.authoring.open_file(str(path), 7)
    assert view is not None and view.cursor_line() == 7
    assert studio.window.docks["editor"].isVisible()

    cursor = view.document().find('{"version": 1}')
    cursor.insertText('{"version": 2}')
    title = editor.tabs.tabs.tabText(editor.tabs.tabs.indexOf(view))
    assert title == "__init__.py" + DIRTY_MARK
    assert editor.action_save.isEnabled()

    with studio.qtbot.waitSignal(studio.client.sig_reload_completed, timeout=TIMEOUT_MS,
                                 check_params_cb=lambda e: e.plugin_id == "alpha"):
        editor.action_save.trigger()

    assert '{"version": 2}' in path.read_text()
    assert editor.tabs.tabs.tabText(editor.tabs.tabs.indexOf(view)) == "__init__.py"
    assert studio.send("beta", "alpha", "ping") == {"version": 2}
    assert not editor.action_save.isEnabled()


def test_open_tabs_come_back_when_the_workspace_is_opened_again(
        studio, workspace, qtbot, settings, theme):
    workspace.plugin("alpha", VERSION_1)
    workspace.plugin("beta")
    studio.open(workspace.root)
    authoring = studio.window.authoring
    first, second = plugin_file(workspace, "alpha"), plugin_file(workspace, "beta")
    closed = workspace.root / "alpha" / "plugin.toml"
    for path in (first, closed, second):
        authoring.open_file(str(path))
    authoring.editor.tabs.close_view(authoring.editor.tabs.view_for(closed))
    authoring.open_file(str(first))  # the current tab
    assert studio.window.close()

    client = RuntimeClient(RuntimeConfig(entry_points=False))
    again = MainWindow(client, settings, theme)
    again.show()
    try:
        assert again.authoring.editor.tabs.views() == []
        with qtbot.waitSignal(client.sig_workspace_loaded, timeout=TIMEOUT_MS):
            again.open_workspace(workspace.root)
        tabs = again.authoring.editor.tabs
        assert [Path(view.path) for view in tabs.views()] == [first, second]
        assert Path(tabs.current_view().path) == first
    finally:
        again.close()
        client.close_now()
        shiboken6.delete(again)
        shiboken6.delete(client)


def test_the_editor_gutter_toggles_breakpoints_like_the_debugger(studio, workspace):
    workspace.plugin("alpha", VERSION_1)
    studio.open(workspace.root)
    path = plugin_file(workspace, "alpha")
    view = studio.window.authoring.open_file(str(path))
    y = int(view.line_top(7)) + view.fontMetrics().height() // 2
    QTest.mouseClick(view.gutter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(6, y))
    studio.qtbot.waitUntil(lambda: 7 in view.markers, timeout=TIMEOUT_MS)
    assert 7 in studio.window.debugger.client.breakpoints_in(str(path))


def test_quitting_with_unsaved_edits_asks_and_cancel_keeps_the_window(studio, workspace):
    workspace.plugin("alpha", VERSION_1)
    studio.open(workspace.root)
    editor = studio.window.authoring.editor
    view = studio.window.authoring.open_file(str(plugin_file(workspace, "alpha")))
    view.document().find("version").insertText("release")
    answers = Answers(CANCEL, DISCARD)
    editor.tabs.prompt = answers

    studio.window.close()
    assert studio.window.isVisible()
    assert "__init__.py" in answers.asked[0][1] and view.modified

    studio.window.close()
    assert not studio.window.isVisible()
    assert "release" not in plugin_file(workspace, "alpha").read_text()


# -- the tabs on their own --------------------------------------------------------------------

def test_opening_an_open_file_again_selects_its_tab(qtbot, tmp_path):
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text("a = 1\n")
    second.write_text("b = 2\n")
    tabs = make_tabs(qtbot)
    view = tabs.open_file(first)
    tabs.open_file(second)
    assert tabs.open_file(first) is view and tabs.tabs.count() == 2
    assert tabs.current_view() is view


def test_a_file_that_cannot_be_read_reports_an_error_and_opens_no_tab(qtbot, tmp_path):
    tabs = make_tabs(qtbot)
    with qtbot.waitSignal(tabs.sig_error) as error:
        assert tabs.open_file(tmp_path / "missing.py") is None
    assert "missing.py" in error.args[0] and tabs.tabs.count() == 0


def test_typing_marks_the_tab_dirty_and_undo_clears_it(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    tabs = make_tabs(qtbot)
    view = tabs.open_file(path)
    type_text(qtbot, view, "b")
    assert tabs.tabs.tabText(0) == "a.py" + DIRTY_MARK
    view.undo()
    assert tabs.tabs.tabText(0) == "a.py" and not view.modified


def test_enter_keeps_the_indent_and_indents_after_a_colon(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("")
    tabs = make_tabs(qtbot)
    view = tabs.open_file(path)
    type_text(qtbot, view, "def f():")
    QTest.keyClick(view, Qt.Key.Key_Return)
    type_text(qtbot, view, "return 1")
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert view.toPlainText() == "def f():\n    return 1\n    "


def test_an_outside_change_reloads_a_tab_without_edits_silently(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    answers = Answers()
    tabs = make_tabs(qtbot, answers)
    view = tabs.open_file(path)
    path.write_text("a = 2\n")
    qtbot.waitUntil(lambda: view.toPlainText() == "a = 2\n", timeout=TIMEOUT_MS)
    assert not answers.asked and not view.modified


def test_an_outside_change_to_an_edited_tab_asks_and_keep_mine_keeps_the_edits(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    answers = Answers(KEEP_MINE)
    tabs = make_tabs(qtbot, answers)
    view = tabs.open_file(path)
    type_text(qtbot, view, "# mine\n")
    path.write_text("a = 2\n")
    qtbot.waitUntil(lambda: bool(answers.asked), timeout=TIMEOUT_MS)
    assert answers.asked[0][0] == "File Changed on Disk"
    assert view.toPlainText() == "# mine\na = 1\n" and view.modified
    assert tabs.save(view)
    assert path.read_text() == "# mine\na = 1\n"


def test_an_outside_change_to_an_edited_tab_can_be_reloaded(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    answers = Answers(RELOAD)
    tabs = make_tabs(qtbot, answers)
    view = tabs.open_file(path)
    type_text(qtbot, view, "# mine\n")
    path.write_text("a = 2\n")
    qtbot.waitUntil(lambda: view.toPlainText() == "a = 2\n", timeout=TIMEOUT_MS)
    assert not view.modified and tabs.tabs.tabText(0) == "a.py"


def test_our_own_save_is_not_taken_for_an_outside_change(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    answers = Answers()
    tabs = make_tabs(qtbot, answers)
    view = tabs.open_file(path)
    type_text(qtbot, view, "b = 0\n")
    with qtbot.waitSignal(tabs._watcher.fileChanged, timeout=TIMEOUT_MS):
        assert tabs.save(view)
    qtbot.waitUntil(lambda: not tabs._pending, timeout=TIMEOUT_MS)
    type_text(qtbot, view, "c")  # the tab is still usable and was not reloaded
    assert not answers.asked and view.toPlainText().startswith("b = 0\nca = 1")


def test_closing_a_dirty_tab_asks_and_cancel_keeps_it(qtbot, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    answers = Answers(CANCEL, DISCARD)
    tabs = make_tabs(qtbot, answers)
    view = tabs.open_file(path)
    type_text(qtbot, view, "x")
    tabs.tabs.tabCloseRequested.emit(0)
    assert tabs.tabs.count() == 1 and view.modified
    tabs.tabs.tabCloseRequested.emit(0)
    assert tabs.tabs.count() == 0 and path.read_text() == "a = 1\n"


def test_a_save_that_fails_is_reported_and_the_edits_stay(qtbot, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    path = folder / "a.py"
    path.write_text("a = 1\n")
    tabs = make_tabs(qtbot)
    view = tabs.open_file(path)
    type_text(qtbot, view, "x")
    path.unlink()
    folder.rmdir()
    with qtbot.waitSignal(tabs.sig_error) as error:
        assert not tabs.save(view)
    assert "a.py" in error.args[0] and view.modified


# -- find, replace, go to line ----------------------------------------------------------------

def make_find_bar(qtbot, tmp_path, text: str):
    path = tmp_path / "a.py"
    path.write_text(text)
    tabs = make_tabs(qtbot)
    view = tabs.open_file(path)
    bar = FindBar()
    qtbot.addWidget(bar)
    bar.set_editor(view)
    return view, bar


def test_find_next_wraps_around_and_reports_no_match(qtbot, tmp_path):
    view, bar = make_find_bar(qtbot, tmp_path, "alpha\nbeta\nalpha\n")
    bar.find_field.setText("alpha")
    assert bar.find_next() and view.textCursor().blockNumber() == 0
    assert bar.find_next() and view.textCursor().blockNumber() == 2
    assert bar.find_next() and view.textCursor().blockNumber() == 0
    bar.find_field.setText("gamma")
    assert not bar.find_next() and bar.status.text() == "No matches"


def test_replace_all_is_one_undo_step(qtbot, tmp_path):
    view, bar = make_find_bar(qtbot, tmp_path, "x = 1\ny = x + x\n")
    bar.open(replace=True)
    bar.find_field.setText("x")
    bar.replace_field.setText("value")
    assert bar.replace_all() == 3
    assert view.toPlainText() == "value = 1\ny = value + value\n"
    view.undo()
    assert view.toPlainText() == "x = 1\ny = x + x\n"


def test_replace_changes_the_selected_match_and_moves_on(qtbot, tmp_path):
    view, bar = make_find_bar(qtbot, tmp_path, "a a a\n")
    bar.find_field.setText("a")
    bar.replace_field.setText("b")
    bar.find_next()
    bar.replace()
    assert view.toPlainText() == "b a a\n"
    assert view.textCursor().selectedText() == "a"


def test_editor_pane_shortcuts_open_find_and_replace(studio, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a = 1\n")
    editor = studio.window.authoring.editor
    studio.window.authoring.open_file(str(path))
    assert editor.action_find.shortcut().toString() == "Ctrl+F"
    assert editor.action_replace.shortcut().toString() == "Ctrl+H"
    assert editor.action_go_to_line.shortcut().toString() == "Ctrl+G"
    assert editor.action_save.shortcut().toString() == "Ctrl+S"
    editor.action_replace.trigger()
    assert editor.find_bar.isVisible() and editor.find_bar.replace_field.isVisible()
    editor.action_find.trigger()
    assert editor.find_bar.isVisible() and not editor.find_bar.replace_field.isVisible()
