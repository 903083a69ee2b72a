"""The orchestration editor pane: graph, palette, inspector, problems and the run bar.

The pane is a view over an :class:`OrchestrationDocument`: every change goes through the
document as a QUndoCommand (``commands.push``), and the scene is redrawn from the
document's plain data after each one. Runs go through RuntimeClient only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QFileSystemWatcher, QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.orchestration import graph as graphs
from logomesh_studio.orchestration.document import DocumentProblem, OrchestrationDocument
from logomesh_studio.orchestration.io import SUFFIX
from logomesh_studio.orchestration.records import Status
from logomesh_studio.orchestration.workspace_view import WorkspaceView
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.studio.actions import add_actions, make_action
from logomesh_studio.studio.panes.orchestration.commands import push
from logomesh_studio.studio.panes.orchestration.inspector import Inspector
from logomesh_studio.studio.panes.orchestration.items import LaneItem, TaskItem
from logomesh_studio.studio.panes.orchestration.palette import PaletteModel, PaletteView
from logomesh_studio.studio.panes.orchestration.problems import ProblemsView
from logomesh_studio.studio.panes.orchestration.run_monitor import RunMonitor, input_hint
from logomesh_studio.studio.panes.orchestration.scene import OrchestrationScene
from logomesh_studio.studio.panes.orchestration.view import GraphView

if TYPE_CHECKING:
    from logomesh_studio.studio.client import RuntimeClient

CLIPBOARD_MIME = "application/x-logomesh-tasks"
TEMPLATE_INITIATOR = "coordinator"


class OrchestrationPane(QWidget):
    """Edit and run one orchestration file."""

    sig_document_changed = Signal()
    sig_problems_changed = Signal(object)  # list[DocumentProblem]
    sig_open_file_requested = Signal(str, int)  # path, line: "Go to YAML"

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orchestration_pane")
        self.client = client
        self.document: OrchestrationDocument | None = None
        self.problems: list[DocumentProblem] = []
        self.undo_stack = QUndoStack(self)
        self.scene = OrchestrationScene(self)
        self.view = GraphView(self)
        self.view.setScene(self.scene)
        self.palette_model = PaletteModel(self)
        self.palette_view = PaletteView(self.palette_model, self)
        self.inspector = Inspector(self)
        self.problems_view = ProblemsView(self)
        self.run_monitor = RunMonitor(client, self)
        self.watcher = QFileSystemWatcher(self)
        self.banner = QWidget(self)
        self.banner_label = QLabel(self.banner)
        self.banner_reload = QPushButton("Reload", self.banner)
        self.banner_keep = QPushButton("Keep mine", self.banner)
        self._ask = QMessageBox.question  # replaceable in tests
        self._build_actions()
        self._build()
        self._wire_signals()
        self._update_title()

    # -- construction -----------------------------------------------------------------------------

    def _action(self, name: str, text: str, icon_name: str, tip: str,
                shortcut: str | QKeySequence.StandardKey = "") -> QAction:
        action = make_action(self, text, icon_name, tip, shortcut, name=name,
                             context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_new = make_action(self, "New &Orchestration…", "new-file",
                                      "Start a new orchestration from the template",
                                      name="action_new_orchestration")
        self.action_open = make_action(self, "Open Or&chestration…", "open",
                                       "Open a *.orchestration.yaml file",
                                       name="action_open_orchestration")
        self.action_save = self._action("action_save_orchestration", "&Save", "save",
                                        "Save the orchestration", QKeySequence.StandardKey.Save)
        self.action_undo = self._action("action_undo_orchestration", "&Undo", "undo",
                                        "Undo the last edit", "Ctrl+Z")
        self.action_redo = self._action("action_redo_orchestration", "&Redo", "redo",
                                        "Redo the last undone edit", "Ctrl+Shift+Z")
        self.action_add_phase = self._action("action_add_phase", "Add &Phase", "add",
                                             "Add a phase (lane) at the end")
        self.action_delete = self._action("action_delete_nodes", "&Delete", "remove",
                                          "Delete the selected tasks or phases",
                                          QKeySequence.StandardKey.Delete)
        self.action_copy = self._action("action_copy_tasks", "&Copy", "copy",
                                        "Copy the selected tasks", QKeySequence.StandardKey.Copy)
        self.action_paste = self._action("action_paste_tasks", "&Paste", "add",
                                         "Paste tasks into the selected lane",
                                         QKeySequence.StandardKey.Paste)
        self.action_duplicate = self._action("action_duplicate_tasks", "D&uplicate", "copy",
                                             "Duplicate the selected tasks", "Ctrl+D")
        self.action_fit = self._action("action_fit_graph", "&Fit", "zoom-reset",
                                       "Show the whole graph", "F")
        self.action_fit.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.action_go_to_yaml = self._action(
            "action_go_to_yaml", "Go to &YAML", "goto-line",
            "Open the orchestration file in the editor at the selected task or phase", "F4")

    def _build(self) -> None:
        toolbar = QToolBar(self)
        toolbar.setObjectName("orchestration_toolbar")
        add_actions(toolbar, (self.action_new, self.action_open, self.action_save, None,
                              self.action_undo, self.action_redo, None, self.action_add_phase,
                              self.action_delete, self.action_duplicate, None, self.action_fit))
        self.title = QLabel(self)
        self.title.setObjectName("orchestration_title")
        toolbar.addWidget(self.title)
        banner = QHBoxLayout(self.banner)
        banner.setContentsMargins(6, 2, 6, 2)
        banner.addWidget(self.banner_label, 1)
        banner.addWidget(self.banner_reload)
        banner.addWidget(self.banner_keep)
        self.banner.hide()
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("orchestration_splitter")
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Palette", left))
        left_layout.addWidget(self.palette_view)
        center = QSplitter(Qt.Orientation.Vertical, self)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        center.addWidget(self.view)
        center.addWidget(self.problems_view)
        center.setStretchFactor(0, 5)
        center.setStretchFactor(1, 1)
        center.setSizes([600, 100])
        self.splitter.addWidget(left)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.inspector)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setSizes([150, 800, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(toolbar)
        layout.addWidget(self.banner)
        layout.addWidget(self.run_monitor)
        layout.addWidget(self.splitter, 1)

    def _wire_signals(self) -> None:
        self.action_new.triggered.connect(self._on_new_triggered)
        self.action_open.triggered.connect(self._on_open_triggered)
        self.action_save.triggered.connect(self.save)
        self.action_undo.triggered.connect(self.undo_stack.undo)
        self.action_redo.triggered.connect(self.undo_stack.redo)
        self.action_add_phase.triggered.connect(self._on_add_phase_triggered)
        self.action_delete.triggered.connect(self.delete_selection)
        self.action_copy.triggered.connect(self.copy_selection)
        self.action_paste.triggered.connect(self.paste)
        self.action_duplicate.triggered.connect(self.duplicate_selection)
        self.action_fit.triggered.connect(self.view.fit)
        self.action_go_to_yaml.triggered.connect(self.go_to_yaml)
        self.view.customContextMenuRequested.connect(self._on_view_context_menu_requested)
        self.undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)
        self.scene.sig_target_dropped.connect(self._on_scene_target_dropped)
        self.scene.sig_nodes_moved.connect(self._on_scene_nodes_moved)
        self.scene.selectionChanged.connect(self._on_scene_selection_changed)
        self.inspector.sig_task_edited.connect(self._on_inspector_task_edited)
        self.inspector.sig_phase_edited.connect(self._on_inspector_phase_edited)
        self.problems_view.sig_node_requested.connect(self.select_node)
        self.run_monitor.sig_run_requested.connect(self.run)
        self.run_monitor.sig_states_changed.connect(self._on_run_states_changed)
        self.run_monitor.sig_run_finished.connect(self._on_run_finished)
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.watcher.fileChanged.connect(self._on_watcher_file_changed)
        self.banner_reload.clicked.connect(self.reload)
        self.banner_keep.clicked.connect(self.banner.hide)

    # -- files ------------------------------------------------------------------------------------

    def new_document(self, name: str = "untitled", initiator: str = TEMPLATE_INITIATOR) -> None:
        """Start a new, unsaved orchestration (asks first if there are unsaved changes)."""
        if not self.maybe_save():
            return
        self._set_document(OrchestrationDocument.new(name, initiator))

    def open_file(self, path: Path | str) -> bool:
        """Open ``path`` (asks first if there are unsaved changes); False if not opened."""
        if not self.maybe_save():
            return False
        try:
            document = OrchestrationDocument.load(path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Open Orchestration", f"{path}: {exc}")
            return False
        self._set_document(document)
        self.view.fit()
        return True

    def save(self) -> bool:
        """Save to the file (asking for a name the first time); False if not saved."""
        if self.document is None:
            return False
        path = self.document.path
        if path is None:
            start = str(self.client.workspace or Path.home())
            chosen, _ = QFileDialog.getSaveFileName(self, "Save Orchestration", start,
                                                    f"Orchestrations (*{SUFFIX})")
            if not chosen:
                return False
            path = Path(chosen if chosen.endswith(SUFFIX) else chosen + SUFFIX)
        return self.save_as(path)

    def save_as(self, path: Path | str) -> bool:
        if self.document is None:
            return False
        old = self.document.path
        if old is not None and str(old) in self.watcher.files():
            self.watcher.removePath(str(old))
        self.document.save(path)
        self.undo_stack.setClean()
        self.watcher.addPath(str(self.document.path))
        self.banner.hide()
        self._update_title()
        return True

    def reload(self) -> None:
        """Read the file again from disk, dropping the edits (after the banner offered it)."""
        if self.document is not None and self.document.path is not None:
            self._set_document(OrchestrationDocument.load(self.document.path))

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False if the user cancels (nothing is lost silently)."""
        if self.document is None or not self.document.modified:
            return True
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard |
                   QMessageBox.StandardButton.Cancel)
        answer = self._ask(self, "Unsaved orchestration",
                           f"Save the changes to {self._name()}?", buttons)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _set_document(self, document: OrchestrationDocument) -> None:
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.document = document
        self.undo_stack.clear()
        self.banner.hide()
        if document.path is not None:
            self.watcher.addPath(str(document.path))
        self.run_monitor.input.setText(input_hint(document.text()))
        self.run_monitor.orchestration = str(document.data().get("name", ""))
        self.run_monitor.states = {}
        self.run_monitor.record = None
        self.run_monitor.refresh_history()
        self.inspector.show_nothing()
        self.refresh()
        document.prepare_edits()  # a big file's tree builds on the other core meanwhile

    def _name(self) -> str:
        if self.document is None:
            return ""
        return self.document.path.name if self.document.path else "a new orchestration"

    def _on_new_triggered(self) -> None:
        name, ok = QInputDialog.getText(self, "New Orchestration", "Name:", text="my-pipeline")
        if ok and name.strip():
            initiator = TEMPLATE_INITIATOR
            running = [i.id for i in self.client.plugin_infos if i.status == PluginStatus.RUNNING]
            if running and initiator not in running:
                initiator = running[0]
            self.new_document(name.strip(), initiator)

    def _on_open_triggered(self) -> None:
        start = str(self.client.workspace or Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open Orchestration", start,
                                              f"Orchestrations (*{SUFFIX});;YAML (*.yaml *.yml)")
        if path:
            self.open_file(path)

    def _on_watcher_file_changed(self, path: str) -> None:
        if self.document is None or self.document.path is None:
            return
        if Path(path).exists():
            self.watcher.addPath(path)  # editors that replace the file drop the watch
            try:
                on_disk = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return
            if on_disk == self.document.text():
                return
        unsaved = " Your unsaved edits would be lost." if self.document.modified else ""
        self.banner_label.setText(f"{Path(path).name} changed on disk.{unsaved}")
        self.banner.show()

    # -- edits ------------------------------------------------------------------------------------

    def edit(self, edit: Any) -> bool:
        """Apply ``edit(document)`` as one undo step; a refused edit is shown, not raised."""
        if self.document is None:
            return False
        document = self.document
        try:
            push(self.undo_stack, document, lambda: edit(document))
        except ValueError as exc:
            self.inspector.show_status(str(exc), error=True)
            return False
        self.inspector.show_status("")
        return True

    def add_task_from(self, phase: str, target: str, index: int | None = None) -> str:
        """Add a task calling ``target`` to ``phase``; the new task's name ("" if refused)."""
        if self.document is None:
            return ""
        base = target.removeprefix("capability:").replace(".", "-")
        name = self._unique(base)
        handles = next((i.handles for i in self.client.plugin_infos if i.id == target), ())
        type_ = handles[0] if handles else None
        if self.edit(lambda d: d.add_task(phase, name, target, type=type_, index=index)):
            self.select_node(name)
            return name
        return ""

    def _unique(self, base: str) -> str:
        assert self.document is not None
        taken = {n for p in self.document.phase_names() for n in self.document.task_names(p)}
        taken |= set(self.document.phase_names())
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        return name

    def _on_add_phase_triggered(self) -> None:
        if self.document is None:
            self.new_document()
        name = self._unique("phase")
        self.edit(lambda d: d.add_phase(name, "sequential"))

    def delete_selection(self) -> None:
        if self.document is None:
            return
        tasks = [(item.phase, item.name) for item in self.scene.selected_tasks()]
        lanes = [lane.name for lane in self.scene.selected_lanes()]
        if not tasks and not lanes:
            return
        self.undo_stack.beginMacro("delete")
        for phase, name in tasks:
            if phase not in lanes:
                self.edit(lambda d, p=phase, n=name: d.remove_task(p, n))
        for lane in lanes:
            self.edit(lambda d, p=lane: d.remove_phase(p))
        self.undo_stack.endMacro()

    def copy_selection(self) -> None:
        if self.document is None:
            return
        selected = {item.name for item in self.scene.selected_tasks()}
        tasks = [task for phase in self.document.data().get("phases", [])
                 for task in phase.get("tasks", []) if task.get("name") in selected]
        if tasks:
            data = QMimeData()
            text = json.dumps(tasks)
            data.setData(CLIPBOARD_MIME, text.encode())
            data.setText(text)
            QApplication.clipboard().setMimeData(data)

    def paste(self) -> None:
        data = QApplication.clipboard().mimeData()
        if self.document is None or data is None or not data.hasFormat(CLIPBOARD_MIME):
            return
        tasks = json.loads(bytes(data.data(CLIPBOARD_MIME).data()).decode())
        lanes = self.scene.selected_lanes()
        selected = self.scene.selected_tasks()
        phase = lanes[0].name if lanes else (selected[0].phase if selected else
                                             (self.document.phase_names() or [""])[-1])
        self._paste(phase, tasks)

    def duplicate_selection(self) -> None:
        if self.document is None:
            return
        selected = self.scene.selected_tasks()
        names = {item.name for item in selected}
        for phase in self.document.data().get("phases", []):
            tasks = [t for t in phase.get("tasks", []) if t.get("name") in names]
            if tasks:
                self._paste(phase["name"], tasks)

    def _paste(self, phase: str, tasks: list[dict[str, Any]]) -> None:
        self.undo_stack.beginMacro("paste")
        pasted = []
        for task in tasks:
            name = self._unique(f"{task['name']}-copy")
            fields = {k: v for k, v in task.items() if k not in ("name", "target", "type",
                                                                  "input")}
            if self.edit(lambda d, t=task, n=name: d.add_task(phase, n, t["target"],
                                                              type=t.get("type"),
                                                              input=t.get("input"))):
                pasted.append(name)
                if fields:
                    self.edit(lambda d, n=name, f=fields: d.set_task(phase, n, **f))
        self.undo_stack.endMacro()
        self.scene.clearSelection()
        for name in pasted:
            if name in self.scene.tasks:
                self.scene.tasks[name].setSelected(True)

    def _on_scene_target_dropped(self, phase: str, target: str, index: int) -> None:
        self.add_task_from(phase, target, index)

    def _on_scene_nodes_moved(self, moved: list[tuple[str, float, float]]) -> None:
        self.undo_stack.beginMacro("move")
        for name, x, y in moved:
            self.edit(lambda d, n=name, x=x, y=y: d.set_position(n, x, y))
        self.undo_stack.endMacro()

    def _on_inspector_task_edited(self, phase: str, task: str, fields: dict[str, Any]) -> None:
        if self.edit(lambda d: d.set_task(phase, task, **fields)) and "name" in fields:
            self.select_node(fields["name"])

    def _on_inspector_phase_edited(self, phase: str, fields: dict[str, Any]) -> None:
        self.edit(lambda d: d.set_phase(phase, **fields))

    def _on_undo_stack_index_changed(self, index: int) -> None:
        self.refresh()

    # -- showing ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw the graph, the problems and the inspector from the document."""
        document = self.document
        if document is None:
            self.scene.clear()
            return
        data = document.data()
        self.scene.show_graph(graphs.build(data))
        self._check()
        self._show_states(self.run_monitor.states)
        self._on_scene_selection_changed()
        self._update_title()
        self.sig_document_changed.emit()

    def _check(self) -> None:
        assert self.document is not None
        infos = self.client.plugin_infos
        workspace = WorkspaceView.from_infos(infos) if infos else None
        self.problems = self.document.problems(workspace)
        self.problems_view.show_problems(self.problems)
        by_node: dict[str, str] = {}
        for problem in self.problems:
            if problem.severity == "error" and problem.node:
                by_node.setdefault(problem.node, f"{problem.field}: {problem.reason}")
        for name, item in self.scene.tasks.items():
            item.set_problem(by_node.get(name, ""))
        for lane in self.scene.lanes:
            lane.problem = by_node.get(lane.name, "")
            lane.update()
        self.sig_problems_changed.emit(self.problems)

    def select_node(self, name: str) -> None:
        """Select and show the task or phase ``name``."""
        self.scene.clearSelection()
        item: QGraphicsItem | None = self.scene.tasks.get(name)
        if item is None:
            item = next((lane for lane in self.scene.lanes if lane.name == name), None)
        if item is not None:
            item.setSelected(True)
            self.view.ensureVisible(item)

    def _on_scene_selection_changed(self) -> None:
        if self.document is None:
            return
        tasks = self.scene.selected_tasks()
        lanes = self.scene.selected_lanes()
        data = self.document.data()
        if len(tasks) == 1:
            item = tasks[0]
            for phase in data.get("phases", []):
                for task in phase.get("tasks", []) if isinstance(phase, dict) else []:
                    if isinstance(task, dict) and task.get("name") == item.name:
                        self.inspector.show_task(str(phase.get("name")), task)
            self.inspector.show_result(self.run_monitor.task_details(item.name))
            if self.run_monitor.status in (Status.RUNNING, Status.PAUSED):
                self.run_monitor.fetch_record()  # a live run: its resolved input so far
        elif len(lanes) == 1 and not tasks:
            for phase in data.get("phases", []):
                if isinstance(phase, dict) and phase.get("name") == lanes[0].name:
                    self.inspector.show_phase(phase)
        else:
            self.inspector.show_nothing()

    def _on_client_plugins_listed(self, infos: list[Any]) -> None:
        self.palette_model.set_plugins(infos)
        targets = [self.palette_model.item(r).text() for r in range(self.palette_model.rowCount())]
        self.inspector.set_targets(targets)
        if self.document is not None:
            self._check()
        self.run_monitor.refresh_history()

    def _update_title(self) -> None:
        if self.document is None:
            self.title.setText("  No orchestration open: File > New Orchestration or Open")
        else:
            star = " •" if self.document.modified else ""
            self.title.setText(f"  {self._name()}{star}")
        self.action_undo.setEnabled(self.undo_stack.canUndo())
        self.action_redo.setEnabled(self.undo_stack.canRedo())

    # -- runs -------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run the orchestration as it is in the editor (saved or not) with the input box's JSON."""
        if self.document is None:
            return
        names = [n for p in self.document.phase_names() for n in self.document.task_names(p)]
        path = str(self.document.path or "<new orchestration>")
        self.run_monitor.orchestration = str(self.document.data().get("name", ""))
        self.run_monitor.start(self.document.text(), path, names)

    def _on_run_states_changed(self, states: dict[str, tuple[str, float | None]]) -> None:
        self._show_states(states)
        selected = self.scene.selected_tasks()
        if len(selected) == 1:
            self.inspector.show_result(self.run_monitor.task_details(selected[0].name))

    def _show_states(self, states: dict[str, tuple[str, float | None]]) -> None:
        for name, item in self.scene.tasks.items():
            state, duration = states.get(name, ("", None))
            if (item.state, item.duration) != (state, duration):
                item.set_state(state, duration)

    def _on_run_finished(self, run_id: str, status: str) -> None:
        self._on_scene_selection_changed()

    # -- the YAML behind a node ------------------------------------------------------------------

    def go_to_yaml(self) -> bool:
        """Ask the editor to show the file at the selected task's or phase's line (saving
        unsaved edits first, so the file holds that line); False if nothing was opened."""
        if self.document is None:
            return False
        nodes = [item.name for item in self.scene.selected_tasks()] or \
            [lane.name for lane in self.scene.selected_lanes()]
        if len(nodes) != 1:
            self.inspector.show_status("Go to YAML: select one task or phase", error=True)
            return False
        if self.document.path is None or self.document.modified:
            buttons = QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel
            answer = self._ask(self, "Go to YAML", f"Save {self._name()} first, so the file "
                               "shows your edits?", buttons)
            if answer != QMessageBox.StandardButton.Save or not self.save():
                return False
        assert self.document.path is not None
        self.sig_open_file_requested.emit(str(self.document.path),
                                          self.document.line_of(nodes[0]))
        return True

    def context_menu(self, position: QPoint) -> QMenu:
        """The graph's menu at viewport ``position``: the node under it is selected first."""
        item = self.view.itemAt(position)
        if isinstance(item, TaskItem | LaneItem) and not item.isSelected():
            self.scene.clearSelection()
            item.setSelected(True)
        menu = QMenu(self)
        add_actions(menu, (self.action_go_to_yaml, None, self.action_copy,
                           self.action_duplicate, self.action_delete, None,
                           self.action_add_phase, self.action_fit))
        return menu

    def _on_view_context_menu_requested(self, position: QPoint) -> None:
        menu = self.context_menu(position)
        menu.exec(self.view.viewport().mapToGlobal(position))
        menu.deleteLater()

    def task_item(self, name: str) -> TaskItem:
        return self.scene.tasks[name]
