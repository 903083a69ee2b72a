"""The tests pane: live results by plugin and file, failures that open the editor, coverage
in the editor's gutter, runs of the real ``logomesh-studio test``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from logomesh_studio.studio.panes.tests_model import FAILED, NOT_RUN, PASSED, RUNNING

TIMEOUT_MS = 60_000

PLUGIN = '''from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("double")
    def double(self, message):
        return message.payload * 2

    @handler("halve")
    def halve(self, message):
        return message.payload / 2
'''


def make_plugin(workspace, tests: str) -> Path:
    folder = workspace.plugin("calc", PLUGIN)
    (folder / "tests").mkdir()
    (folder / "tests" / "test_calc.py").write_text(tests)
    return folder


def record(kind: str, **fields):
    return {"kind": kind, "plugin": "calc", **fields}


def test_results_show_live_while_the_run_is_in_progress(studio, workspace):
    folder = make_plugin(workspace, "")
    studio.open(workspace.root)
    pane = studio.window.authoring.tests
    test_file = str(folder / "tests" / "test_calc.py")
    events = pane.process.sig_record
    events.emit(record("plugin_started", tests_dir=str(folder / "tests")))
    events.emit(record("test", nodeid="tests/test_calc.py::test_double", file=test_file,
                       line=3, outcome="passed", duration=0.01, message="", location=None))
    model = pane.model
    index = model.test_index("tests/test_calc.py::test_double")
    assert model.node(index).outcome == PASSED
    assert model.data(index.siblingAtColumn(1)) == "passed"
    assert model.data(model.plugin_index("calc").siblingAtColumn(1)) == "1 passed"
    assert pane.status_label.text().startswith("Running")

    model.begin_run(model.all_tests())  # a second run starts: every known test is pending
    assert model.node(index).outcome == RUNNING
    events.emit(record("test", nodeid="tests/test_calc.py::test_halve", file=test_file,
                       line=7, outcome="failed", duration=0.02,
                       message=f"{test_file}:8: assert 2.0 == 3", location=f"{test_file}:8"))
    halve = model.node(model.test_index("tests/test_calc.py::test_halve"))
    assert halve.outcome == FAILED and model.node(index).outcome == RUNNING
    assert "1 failed" in model.data(model.plugin_index("calc").siblingAtColumn(1))

    events.emit(record("summary", total=2, passed=0, failed=1, skipped=0, errors=0,
                       duration=0.1, coverage=None, files={}, crashed=False, timed_out=False,
                       message=""))
    assert model.node(index).outcome == NOT_RUN  # the run ended without reporting it


def test_a_failure_location_opens_in_the_editor_at_its_line(studio, workspace):
    folder = make_plugin(workspace, "def test_halve():\n    x = 1\n    assert x == 2\n")
    studio.open(workspace.root)
    pane = studio.window.authoring.tests
    test_file = str(folder / "tests" / "test_calc.py")
    pane.process.sig_record.emit(record(
        "test", nodeid="tests/test_calc.py::test_halve", file=test_file, line=1,
        outcome="failed", duration=0.0, message="assert 1 == 2", location=f"{test_file}:3"))
    pane.select_test("tests/test_calc.py::test_halve")
    assert "test_calc.py:3" in pane.details.toPlainText()

    url = QUrl.fromLocalFile(test_file)
    url.setFragment("3")
    pane.details.anchorClicked.emit(url)
    view = studio.window.authoring.editor.current_view()
    assert os.path.realpath(view.path) == os.path.realpath(test_file)
    assert view.cursor_line() == 3


def test_coverage_of_a_run_shades_the_editor_gutter(studio, workspace):
    folder = make_plugin(workspace, "")
    studio.open(workspace.root)
    source = folder / workspace.package_name("calc") / "__init__.py"
    view = studio.window.authoring.open_file(str(source))
    assert view.coverage == (frozenset(), frozenset())

    studio.window.authoring.tests.process.sig_record.emit(record(
        "summary", total=1, passed=1, failed=0, skipped=0, errors=0, duration=0.1,
        coverage=83.0, files={str(source): {"coverage": 83.0, "missing": [11]}},
        crashed=False, timed_out=False, message=""))

    covered, missing = view.coverage
    assert missing == {11}
    assert {1, 4, 5, 7, 9} <= covered and 11 not in covered
    model = studio.window.authoring.tests.model
    assert model.data(model.plugin_index("calc").siblingAtColumn(3)) == "83 %"

    view.textCursor().insertText("# edited\n")  # the lines moved: the shading goes
    assert view.coverage == (frozenset(), frozenset())
    view.undo()  # nothing left unsaved for the window to ask about


def test_the_filter_keeps_matching_tests_and_their_parents(studio, workspace):
    folder = make_plugin(workspace, "")
    studio.open(workspace.root)
    pane = studio.window.authoring.tests
    test_file = str(folder / "tests" / "test_calc.py")
    for name in ("test_double", "test_halve"):
        pane.process.sig_record.emit(record(
            "test", nodeid=f"tests/test_calc.py::{name}", file=test_file, line=1,
            outcome="passed", duration=0.0, message="", location=None))
    pane.search.set_search("halve")
    plugin = pane.proxy.index(0, 0)
    assert pane.proxy.data(plugin) == "calc"
    file_index = pane.proxy.index(0, 0, plugin)
    assert pane.proxy.rowCount(file_index) == 1
    assert pane.proxy.data(pane.proxy.index(0, 0, file_index)) == "test_halve"


# -- runs of the real `logomesh-studio test` ----------------------------------------------------

REAL_TESTS = '''from pathlib import Path

from logomesh_studio.testing import PluginHarness

WORKSPACE = Path(__file__).resolve().parents[2]
GATE = Path({gate!r})  # a named pipe: opening it waits for the GUI test to open the other end


def test_double():
    with PluginHarness(WORKSPACE) as h:
        assert h.send("calc", "double", 2) == 4


def test_halve():
    with PluginHarness(WORKSPACE) as h:
        assert h.send("calc", "halve", 4) == 3


def test_waits_for_the_gui():
    assert GATE.read_text() == "go"
'''


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_real_run_streams_results_then_coverage_and_runs_failed_again(
        studio, workspace, tmp_path):
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    folder = make_plugin(workspace, REAL_TESTS.format(gate=str(gate)))
    studio.open(workspace.root)
    source = folder / workspace.package_name("calc") / "__init__.py"
    view = studio.window.authoring.open_file(str(source))
    pane = studio.window.authoring.tests
    model = pane.model

    assert pane.run_all()

    def outcome(name):
        index = model.test_index(f"calc/tests/test_calc.py::{name}")
        return model.node(index).outcome if index.isValid() else None

    # Live: results show while the last test still waits for us.
    studio.qtbot.waitUntil(lambda: outcome("test_halve") == FAILED, timeout=TIMEOUT_MS)
    assert outcome("test_double") == PASSED and pane.running
    assert "assert 2.0 == 3" in model.node(model.test_index(
        "calc/tests/test_calc.py::test_halve")).message
    opened = threading.Thread(target=gate.write_text, args=("go",))  # blocks until read
    opened.start()
    with studio.qtbot.waitSignal(pane.sig_run_finished, timeout=TIMEOUT_MS) as finished:
        pass
    opened.join()
    assert finished.args == [1]  # a test failed
    assert outcome("test_waits_for_the_gui") == PASSED
    covered, missing = view.coverage
    assert covered and not missing  # both handlers ran
    assert pane.status_label.text().startswith("Done")

    assert pane.action_run_failed.isEnabled()
    with studio.qtbot.waitSignal(pane.sig_run_finished, timeout=TIMEOUT_MS):
        assert pane.run_failed()
        assert outcome("test_halve") == RUNNING and outcome("test_double") == PASSED
    assert outcome("test_halve") == FAILED and outcome("test_double") == PASSED


def test_run_selected_runs_the_selected_test_by_node_id_not_its_namesakes(studio, workspace):
    folder = make_plugin(workspace, "def test_same():\n    assert True\n")
    (folder / "tests" / "test_other.py").write_text("def test_same():\n    assert False\n")
    studio.open(workspace.root)
    pane = studio.window.authoring.tests
    pane.action_coverage.setChecked(False)
    with studio.qtbot.waitSignal(pane.sig_run_finished, timeout=TIMEOUT_MS):
        assert pane.run_all()
    ran = []
    pane.process.sig_record.connect(
        lambda record: ran.append(record["nodeid"]) if record["kind"] == "test" else None)
    pane.select_test("calc/tests/test_calc.py::test_same")
    with studio.qtbot.waitSignal(pane.sig_run_finished, timeout=TIMEOUT_MS) as finished:
        assert pane.run_selected()
    assert ran == ["calc/tests/test_calc.py::test_same"]  # not calc/tests/test_other.py's
    assert finished.args == [0]


def test_rerun_on_save_runs_the_plugins_tests_after_its_reload(studio, workspace):
    folder = make_plugin(workspace, "def test_one():\n    assert True\n")
    studio.open(workspace.root)
    pane = studio.window.authoring.tests
    pane.action_rerun_on_save.setChecked(True)
    view = studio.window.authoring.open_file(
        str(folder / workspace.package_name("calc") / "__init__.py"))
    view.textCursor().insertText("# saved\n")

    with studio.qtbot.waitSignal(pane.sig_run_finished, timeout=TIMEOUT_MS) as finished:
        studio.window.authoring.editor.save()
    assert finished.args == [0]
    index = pane.model.test_index("calc/tests/test_calc.py::test_one")
    assert pane.model.node(index).outcome == PASSED


def test_debug_this_test_stops_at_a_breakpoint_in_the_plugin_then_finishes(studio, workspace):
    tests = ("from pathlib import Path\n\nfrom logomesh_studio.testing import PluginHarness\n\n"
             "WORKSPACE = Path(__file__).resolve().parents[2]\n\n\n"
             "def test_double():\n    with PluginHarness(WORKSPACE) as h:\n"
             "        assert h.send('calc', 'double', 21) == 42\n")
    folder = make_plugin(workspace, tests)
    studio.open(workspace.root)
    pane = studio.window.authoring.tests
    test_file = str(folder / "tests" / "test_calc.py")
    pane.process.sig_record.emit(record(
        "test", nodeid="calc/tests/test_calc.py::test_double", file=test_file, line=8,
        outcome="passed", duration=0.0, message="", location=None))
    source = str(folder / workspace.package_name("calc") / "__init__.py")
    debugger = studio.window.debugger
    debugger.client.sync_workspace()
    debugger.client.toggle_breakpoint(source, 7)  # return message.payload * 2
    pane.select_test("calc/tests/test_calc.py::test_double")
    assert pane.action_debug.isEnabled()

    with studio.qtbot.waitSignal(debugger.sig_stopped, timeout=TIMEOUT_MS) as stopped:
        pane.action_debug.trigger()
    assert os.path.realpath(stopped.args[0]) == os.path.realpath(source)
    assert stopped.args[1] == 7
    assert studio.window.docks["debugger"].isVisible()

    run = studio.window.authoring.test_debug
    with studio.qtbot.waitSignal(run.sig_finished, timeout=TIMEOUT_MS) as finished:
        debugger.client.resume()
    assert finished.args == ["calc/tests/test_calc.py::test_double", 0]
    studio.qtbot.waitUntil(lambda: debugger.plugin_id == "", timeout=TIMEOUT_MS)
