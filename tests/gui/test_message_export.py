"""Recorded traffic out of the inspector: Save Messages and Generate Tests."""

from __future__ import annotations

import json

from PySide6.QtCore import QItemSelectionModel

from logomesh_studio.runtime.events import MessageRecorded, event_from_json

TIMEOUT_MS = 10_000


def record_traffic(studio, two_plugins, count: int = 3) -> None:
    studio.open(two_plugins.root)
    for n in range(count):
        studio.send("alpha", "beta", "ping", n)
    studio.qtbot.waitUntil(lambda: studio.window.messages.model.rowCount() >= count,
                           timeout=TIMEOUT_MS)


def select_rows(pane, rows) -> None:
    selection = pane.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in rows:
        selection.select(pane.model.index(row, 0), flags)


def test_save_messages_writes_the_selected_ones_as_run_json_message_events(
        studio, two_plugins, tmp_path):
    record_traffic(studio, two_plugins)
    pane = studio.window.messages
    select_rows(pane, [0, 2])
    export = studio.window.authoring.export
    path = tmp_path / "recording.jsonl"

    assert export.save_to(path) == 2

    lines = path.read_text().splitlines()
    shown = [pane.model.record(0), pane.model.record(2)]
    # `logomesh-studio run --json` prints json.dumps(event.to_json()) for each event.
    assert lines == [json.dumps(record.to_json()) for record in shown]
    restored = [event_from_json(json.loads(line)) for line in lines]
    assert all(isinstance(r, MessageRecorded) for r in restored)
    assert [json.loads(r.payload) for r in restored] == [0, 2]
    assert json.loads(lines[0])["event"] == "message"


def test_save_messages_without_a_selection_writes_every_message_shown(
        studio, two_plugins, tmp_path):
    record_traffic(studio, two_plugins)
    path = tmp_path / "all.jsonl"
    assert studio.window.authoring.export.save_to(path) == studio.window.messages.model.rowCount()
    assert len(path.read_text().splitlines()) == 3


def test_save_and_generate_are_offered_in_the_menus(studio):
    export = studio.window.authoring.export
    pane = studio.window.messages
    assert export.action_generate in pane.extra_context_actions
    file_menu = studio.window.menuBar().actions()[0].menu()
    assert export.action_save in file_menu.actions()
    assert studio.window.authoring.action_new_plugin in file_menu.actions()



def test_generate_tests_writes_passing_tests_under_the_plugin_and_opens_them(
        studio, two_plugins):
    import subprocess
    import sys

    record_traffic(studio, two_plugins)
    pane = studio.window.messages
    select_rows(pane, [0, 1])

    written = studio.window.authoring.export.generate()

    assert len(written) == 1
    path = written[0]
    assert path.parent == two_plugins.root / "beta" / "tests"
    view = studio.window.authoring.editor.current_view()
    assert view.path == str(path) and "def test_" in view.toPlainText()
    again = studio.window.authoring.export.generate()
    assert again[0] != path and path.is_file()  # a second file, never over the first
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(path)], capture_output=True, text=True, timeout=120,
                         cwd=two_plugins.root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_generate_tests_needs_messages_to_a_plugin(studio, two_plugins):
    studio.open(two_plugins.root)
    with studio.qtbot.waitSignal(studio.window.authoring.export.sig_error) as error:
        assert studio.window.authoring.export.generate([]) == []
    assert "select messages" in error.args[0]
