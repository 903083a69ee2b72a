"""The orchestration editor pane: build by drag and drop, edit, undo, problems, live runs."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from logomesh_studio.orchestration.document import OrchestrationDocument
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.panes.orchestration import OrchestrationPane
from logomesh_studio.studio.panes.orchestration.palette import TARGET_ROLE

TIMEOUT_MS = 10_000

WORKER = """
from pathlib import Path

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("work")
    def work(self, message):
        return {"echo": message.payload, "by": self.ctx.plugin_id}

    @handler("compute")
    def compute(self, message):
        return {"computed": True}

    @handler("fragile")
    def fragile(self, message):
        raise ValueError("broken on purpose")
"""
FIXED = WORKER.replace('raise ValueError("broken on purpose")', 'return {"fixed": True}')


@pytest.fixture
def editor(qtbot, async_loop, workspace) -> Iterator[OrchestrationPane]:
    workspace.plugin("alpha", WORKER)
    workspace.plugin("beta", WORKER, capabilities=["compute"])
    workspace.plugin("boss", permissions=["send:*", "capability:*"])
    client = RuntimeClient(RuntimeConfig(entry_points=False, debounce=0.05))
    pane = OrchestrationPane(client)
    pane.resize(1200, 700)
    pane.show()
    task = asyncio.ensure_future(client.open(workspace.root))
    qtbot.waitUntil(task.done, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: pane.palette_model.rowCount() >= 4, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: client.watching, timeout=TIMEOUT_MS)
    pane.workspace = workspace
    yield pane
    pane.document = None  # nothing to ask about on close
    pane.close()
    client.close_now()
    shiboken6.delete(pane)
    shiboken6.delete(client)


def drag_target(pane: OrchestrationPane, target: str, phase: str) -> None:
    """Drag ``target`` from the palette and drop it on ``phase``'s lane, as a user would."""
    model = pane.palette_model
    row = next(r for r in range(model.rowCount()) if model.item(r).data(TARGET_ROLE) == target)
    mime = model.mimeData([model.index(row, 0)])
    lane = next(lane for lane in pane.scene.lanes if lane.name == phase)
    right = max([t.x() + 200 for t in pane.scene.tasks.values() if t.phase == phase] + [160])
    pane.view.ensureVisible(right, lane.y() + 60, 10, 10)
    pos = pane.view.mapFromScene(right, lane.y() + 60)
    viewport = pane.view.viewport()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for event in (QDragEnterEvent(pos, actions, mime, buttons, mods),
                  QDragMoveEvent(pos, actions, mime, buttons, mods),
                  QDropEvent(pos.toPointF(), actions, mime, buttons, mods)):
        QApplication.sendEvent(viewport, event)


def edit_line(widget, text: str) -> None:
    widget.setText(text)
    widget.editingFinished.emit()


EXPECTED = """\
name: built
description: ''
initiator: boss
participants: [alpha, beta]
phases:
  - name: phase
    mode: sequential
    tasks:
      - name: alpha
        target: alpha
        type: work
        input: {word: "${input.word}"}
        output_mapping: {by: by}
  - name: fan
    mode: parallel
    tasks:
      - name: beta
        target: beta
        type: work
        input: "${by}"
      - name: compute
        target: capability:compute
  - name: gate
    mode: conditional
    tasks:
      - name: alpha-2
        target: alpha
        type: work
        condition: "by == 'alpha'"
"""


def build_three_phases(qtbot, pane: OrchestrationPane) -> None:
    pane.new_document("built", "boss")
    pane.action_add_phase.trigger()
    drag_target(pane, "alpha", "phase")
    assert pane.inspector.task == "alpha"  # the new task is selected and shown
    edit_line(pane.inspector.task_type, "work")
    pane.inspector.task_input.setPlainText('{"word": "${input.word}"}')
    qtbot.waitUntil(lambda: pane.document.data()["phases"][0]["tasks"][0].get("input") is not None,
                    timeout=TIMEOUT_MS)
    edit_line(pane.inspector.task_mapping, '{"by": "by"}')
    for name, mode in (("fan", "parallel"), ("gate", "conditional")):
        pane.action_add_phase.trigger()
        pane.select_node(pane.document.phase_names()[-1])
        edit_line(pane.inspector.phase_name, name)
        pane.select_node(name)
        pane.inspector.phase_mode.setCurrentText(mode)
        pane.inspector.phase_mode.activated.emit(pane.inspector.phase_mode.currentIndex())
    drag_target(pane, "beta", "fan")
    edit_line(pane.inspector.task_type, "work")
    pane.inspector.task_input.setPlainText('"${by}"')
    qtbot.waitUntil(lambda: pane.document.data()["phases"][1]["tasks"][0].get("input") is not None,
                    timeout=TIMEOUT_MS)
    drag_target(pane, "capability:compute", "fan")
    drag_target(pane, "alpha", "gate")
    edit_line(pane.inspector.task_type, "work")
    edit_line(pane.inspector.task_condition, "by == 'alpha'")


def test_orchestration_editor_builds_three_phases_by_drag_and_drop_saves_and_reopens(
        qtbot, editor, tmp_path):
    build_three_phases(qtbot, editor)
    assert editor.problems == []
    path = tmp_path / "built.orchestration.yaml"
    assert editor.save_as(path)
    assert path.read_text() == EXPECTED
    assert OrchestrationDocument.load(path).text() == EXPECTED
    editor.document = None
    assert editor.open_file(path)
    assert [lane.name for lane in editor.scene.lanes] == ["phase", "fan", "gate"]
    assert set(editor.scene.tasks) == {"alpha", "beta", "compute", "alpha-2"}
    assert {(e.source.name, e.target.name) for e in editor.scene.edges} == \
        {("alpha", "beta"), ("alpha", "alpha-2")}


def test_orchestration_editor_undoes_to_empty_and_redoes(qtbot, editor):
    build_three_phases(qtbot, editor)
    built = editor.document.text()
    empty = OrchestrationDocument.new("built", "boss").text()
    while editor.undo_stack.canUndo():
        editor.action_undo.trigger()
    assert editor.document.text() == empty and not editor.scene.tasks
    while editor.undo_stack.canRedo():
        editor.action_redo.trigger()
    assert editor.document.text() == built
    qtbot.waitUntil(lambda: len(editor.scene.tasks) == 4, timeout=TIMEOUT_MS)


def test_orchestration_editor_shows_problem_markers_and_clears_them(qtbot, editor):
    build_three_phases(qtbot, editor)
    editor.select_node("alpha-2")
    edit_line(editor.inspector.task_condition, "by ==")
    qtbot.waitUntil(lambda: editor.scene.tasks["alpha-2"].problem != "", timeout=TIMEOUT_MS)
    assert "invalid syntax" in editor.inspector.condition_check.text()
    [row] = editor.problems_view.rows()
    assert "alpha-2" in row and "condition" in row
    editor.scene.clearSelection()
    editor.problems_view.clicked.emit(editor.problems_view.model().index(0, 0))
    assert [t.name for t in editor.scene.selected_tasks()] == ["alpha-2"]
    edit_line(editor.inspector.task_condition, "by == 'beta'")
    qtbot.waitUntil(lambda: editor.scene.tasks["alpha-2"].problem == "", timeout=TIMEOUT_MS)
    assert editor.problems_view.rows() == []


def test_orchestration_editor_run_colours_the_nodes_and_completes(qtbot, editor, tmp_path):
    build_three_phases(qtbot, editor)
    editor.run_monitor.input.setText('{"word": "hi"}')
    with qtbot.waitSignal(editor.run_monitor.sig_run_finished, timeout=TIMEOUT_MS) as finished:
        editor.run_monitor.action_run.trigger()
    assert finished.args[1] == "completed", editor.run_monitor.label.text()
    qtbot.waitUntil(lambda: editor.run_monitor.record is not None, timeout=TIMEOUT_MS)
    states = {name: item.state for name, item in editor.scene.tasks.items()}
    assert states == {"alpha": "completed", "beta": "completed", "compute": "completed",
                      "alpha-2": "completed"}
    assert editor.scene.tasks["alpha"].duration is not None
    editor.select_node("alpha")
    assert '"word": "hi"' in editor.inspector.result.toPlainText()
    assert '"by": "alpha"' in editor.inspector.result.toPlainText()


def test_orchestration_editor_failing_run_then_resume_after_fixing_the_plugin(qtbot, editor):
    pane = editor
    pane.new_document("fragile", "boss")
    pane.action_add_phase.trigger()
    drag_target(pane, "alpha", "phase")
    drag_target(pane, "beta", "phase")
    pane.select_node("beta")
    edit_line(pane.inspector.task_type, "fragile")
    with qtbot.waitSignal(pane.run_monitor.sig_run_finished, timeout=TIMEOUT_MS) as finished:
        pane.run_monitor.action_run.trigger()
    assert finished.args[1] == "failed"
    qtbot.waitUntil(lambda: pane.scene.tasks["beta"].state == "failed", timeout=TIMEOUT_MS)

    assert pane.scene.tasks["alpha"].state == "completed"
    assert pane.run_monitor.action_resume_failed.isEnabled()
    with qtbot.waitSignal(pane.client.sig_reload_completed, timeout=TIMEOUT_MS):
        code = pane.workspace.root / "beta" / pane.workspace.package_name("beta") / "__init__.py"
        code.write_text(textwrap.dedent(FIXED))
    with qtbot.waitSignal(pane.run_monitor.sig_run_finished, timeout=TIMEOUT_MS) as finished:
        pane.run_monitor.action_resume_failed.trigger()
    assert finished.args[1] == "completed"
    qtbot.waitUntil(lambda: pane.scene.tasks["beta"].state == "completed", timeout=TIMEOUT_MS)


def test_orchestration_editor_asks_before_dropping_unsaved_changes(qtbot, editor):
    editor.new_document("draft", "boss")
    editor.action_add_phase.trigger()
    asked = []
    editor._ask = lambda *args: asked.append(args) or QMessageBox.StandardButton.Cancel
    editor.new_document("other", "boss")
    assert asked and editor.document.data()["name"] == "draft"


def test_orchestration_editor_opens_both_examples_without_problems(qtbot, editor):
    from pathlib import Path

    for path in sorted((Path(__file__).parents[2] / "plugins").glob("*.orchestration.yaml")):
        editor.document = None
        assert editor.open_file(path)
        assert editor.document.problems() == []
        assert len(editor.scene.tasks) == sum(len(editor.document.task_names(p))
                                              for p in editor.document.phase_names())
        assert editor.scene.edges


def test_orchestration_editor_duplicates_moves_and_deletes_nodes_as_undo_steps(qtbot, editor):
    build_three_phases(qtbot, editor)
    before = editor.document.text()
    editor.select_node("beta")
    editor.action_duplicate.trigger()
    assert "beta-copy" in editor.scene.tasks
    assert editor.document.task_names("fan") == ["beta", "compute", "beta-copy"]
    x, y = editor.scene.tasks["beta-copy"].x() + 40, editor.scene.tasks["beta-copy"].y()
    editor.scene.sig_nodes_moved.emit([("beta-copy", x, y)])  # what a drag reports
    assert editor.document.position("beta-copy") == (x, y)
    assert editor.scene.tasks["beta-copy"].pos().x() == x
    editor.select_node("beta-copy")
    editor.action_delete.trigger()
    assert "beta-copy" not in editor.scene.tasks
    for _ in range(3):
        editor.action_undo.trigger()
    assert editor.document.text() == before


def test_orchestration_editor_offers_to_reload_a_file_changed_on_disk(qtbot, editor, tmp_path):
    path = tmp_path / "outside.orchestration.yaml"
    path.write_text(EXPECTED)
    assert editor.open_file(path)
    path.write_text(EXPECTED.replace("name: built", "name: changed-outside"))
    qtbot.waitUntil(editor.banner.isVisible, timeout=TIMEOUT_MS)
    editor.banner_reload.click()
    assert editor.document.data()["name"] == "changed-outside"
    assert not editor.banner.isVisible()



def test_orchestration_editor_zoomed_out_draws_nodes_in_one_overview_and_keeps_selection(
        qtbot, monkeypatch):
    from PySide6.QtGui import QPainterPath

    from logomesh_studio.orchestration import graph as graphs
    from logomesh_studio.studio.panes.orchestration.items import DETAIL_LOD, TaskItem
    from logomesh_studio.studio.panes.orchestration.scene import OrchestrationScene
    from logomesh_studio.studio.panes.orchestration.view import GraphView
    from logomesh_studio.studio.theme import color

    phases = "".join(f"\n- name: p{p}\n  mode: parallel\n  tasks:" + "".join(
        f"\n  - {{name: t{p}-{t}, target: alpha}}" for t in range(12)) for p in range(6))
    document = OrchestrationDocument("name: big\ninitiator: boss\nparticipants: [alpha]\n"
                                     f"phases:{phases}\n")
    scene = OrchestrationScene()
    scene.show_graph(graphs.build(document.data()))
    view = GraphView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.setScene(scene)
    view.show()
    painted = []
    real_paint = TaskItem.paint
    monkeypatch.setattr(TaskItem, "paint", lambda item, *args: painted.append(item.name)
                        or real_paint(item, *args))
    view.fit()  # 72 nodes in 900 pixels: below the zoom that shows their text
    assert view.transform().m11() < DETAIL_LOD

    node = scene.tasks["t2-5"]
    spot = view.mapFromScene(node.sceneBoundingRect().center())
    before = view.viewport().grab().toImage().pixelColor(spot)
    assert painted == []  # no node painted itself...
    area = QPainterPath()
    area.addRect(node.sceneBoundingRect().adjusted(-2, -2, 2, 2))
    scene.setSelectionArea(area)
    assert scene.selected_tasks() == [node]  # ...yet each is there to select...
    after = view.viewport().grab().toImage().pixelColor(spot)
    assert after == color("accent") != before  # ...and the overview shows the selection

    view.zoom(4)  # close up, each node paints itself again
    view.viewport().grab()
    assert "t2-5" in painted


def test_orchestration_editor_go_to_yaml_opens_the_file_at_the_selected_nodes_line(
        qtbot, editor, tmp_path):
    path = tmp_path / "lines.orchestration.yaml"
    path.write_text(EXPECTED)
    assert editor.open_file(path)
    editor.select_node("compute")
    with qtbot.waitSignal(editor.sig_open_file_requested, timeout=TIMEOUT_MS) as opened:
        editor.action_go_to_yaml.trigger()
    assert opened.args[0] == str(path)
    assert path.read_text().splitlines()[opened.args[1] - 1].strip() == "- name: compute"

    # an edit above it: the file is saved first (when the user agrees) and the line follows
    editor._ask = lambda *args: QMessageBox.StandardButton.Save
    editor.edit(lambda d: d.set_task("phase", "alpha", timeout=3, condition="word != None"))
    editor.select_node("fan")
    with qtbot.waitSignal(editor.sig_open_file_requested, timeout=TIMEOUT_MS) as opened:
        editor.action_go_to_yaml.trigger()
    assert not editor.document.modified
    assert path.read_text().splitlines()[opened.args[1] - 1].strip() == "- name: fan"

    editor.edit(lambda d: d.remove_task("phase", "alpha"))
    editor._ask = lambda *args: QMessageBox.StandardButton.Cancel  # ...or nothing happens
    with qtbot.assertNotEmitted(editor.sig_open_file_requested):
        assert not editor.go_to_yaml()
    assert editor.document.modified


def test_orchestration_editor_context_menu_selects_the_node_and_offers_go_to_yaml(
        qtbot, editor, tmp_path):
    path = tmp_path / "menu.orchestration.yaml"
    path.write_text(EXPECTED)
    assert editor.open_file(path)
    editor.view.fit()
    lane = editor.scene.lanes[1]
    spot = editor.view.mapFromScene(lane.scenePos() + QPointF(20, 20))  # its header
    menu = editor.context_menu(spot)
    assert editor.scene.selected_lanes() == [lane] and not editor.scene.selected_tasks()
    assert menu.actions()[0] is editor.action_go_to_yaml
    assert editor.action_go_to_yaml.shortcut().toString() == "F4"
