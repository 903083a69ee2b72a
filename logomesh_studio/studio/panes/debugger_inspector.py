"""The debugger's frame inspector: call stack, variables and watches of a stop.

Choosing a frame in the call stack shows its locals (expanded lazily, child by child)
and evaluates every watch expression in it. All values are computed off the GUI
thread by ``DebugClient.inspect``; answers for a stop that has ended are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.devtools import inspection
from logomesh_studio.devtools.debugger import Debugger, EvaluationError, Frame
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.debug_client import DebugClient
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.variables_tree import ValueRow, VariablesModel, VariablesView

_Index = QModelIndex | QPersistentModelIndex


def _row(child: inspection.Child) -> ValueRow:
    return ValueRow(child.name, child.expression, child.value, child.type, child.expandable)


def titled(title: str, widget: QWidget) -> QWidget:
    """``widget`` under a small bold caption, as a section of a splitter."""
    box = QWidget(widget.parentWidget())
    caption = QLabel(title, box)
    font = caption.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 0.92)
    caption.setFont(font)
    caption.setContentsMargins(4, 3, 4, 2)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(caption)
    layout.addWidget(widget, 1)
    return box


class StackModel(QAbstractListModel):
    """The frames of a stop, innermost first: ``function  folder/file:line``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._frames: list[Frame] = []

    def set_frames(self, frames: list[Frame]) -> None:
        self.beginResetModel()
        self._frames = list(frames)
        self.endResetModel()

    def frame(self, row: int) -> Frame | None:
        return self._frames[row] if 0 <= row < len(self._frames) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._frames)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        frame = self.frame(index.row()) if index.isValid() else None
        if frame is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            where = os.sep.join(frame.path.split(os.sep)[-2:])
            return f"{frame.function}    {where}:{frame.line}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{frame.path}:{frame.line}"
        if role == Qt.ItemDataRole.FontRole and index.row() == 0:
            font = QFont()
            font.setBold(True)
            return font
        return None


class FrameInspector(QSplitter):
    """Call Stack, Variables and Watch sections, stacked; more may be added below."""

    sig_frame_selected = Signal(object, bool)  # Frame, is it the innermost one?

    def __init__(self, client: DebugClient, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self._client = client
        self._frame: Frame | None = None
        self._watches: list[str] = []
        self.stack_model = StackModel(self)
        self.stack_view = QListView(self)
        self.stack_view.setModel(self.stack_model)
        self.stack_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.variables_model = VariablesModel(self._fetch_children, self)
        self.variables_view = VariablesView(self.variables_model, self)
        self.variables_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.watch_model = VariablesModel(self._fetch_children, self)
        self.watch_view = VariablesView(self.watch_model, self)
        self.watch_view.header().resizeSection(0, 200)
        self.watch_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.watch_input = QLineEdit(self)
        self.watch_input.setPlaceholderText("Add a watch expression (Enter)")
        self.watch_input.setClearButtonEnabled(True)
        self.action_remove_watch = make_action(
            self, "Remove Watch", "remove", "Remove the selected watch expression",
            QKeySequence.StandardKey.Delete, name="action_remove_watch",
            context=Qt.ShortcutContext.WidgetShortcut)
        self.watch_view.addAction(self.action_remove_watch)
        watches = QWidget(self)
        watch_layout = QVBoxLayout(watches)
        watch_layout.setContentsMargins(0, 0, 0, 0)
        watch_layout.setSpacing(2)
        watch_layout.addWidget(self.watch_view, 1)
        watch_layout.addWidget(self.watch_input)
        self.addWidget(titled("Call Stack", self.stack_view))
        self.addWidget(titled("Variables", self.variables_view))
        self.addWidget(titled("Watch", watches))
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.stack_view.selectionModel().currentChanged.connect(self._on_stack_current_changed)
        self.watch_input.returnPressed.connect(self._on_watch_input_return_pressed)
        self.action_remove_watch.triggered.connect(self._on_remove_watch_triggered)
        self.variables_view.customContextMenuRequested.connect(self._on_variables_menu_requested)
        self.watch_view.customContextMenuRequested.connect(self._on_watch_menu_requested)

    @property
    def selected_frame(self) -> Frame | None:
        """The frame whose variables are shown."""
        return self._frame

    @property
    def selected_is_innermost(self) -> bool:
        return self.stack_view.currentIndex().row() <= 0

    @property
    def watches(self) -> list[str]:
        return list(self._watches)

    def show_frames(self, frames: list[Frame]) -> None:
        """Show a stop's frames and select the innermost one."""
        self.stack_model.set_frames(frames)
        if frames:
            self.stack_view.setCurrentIndex(self.stack_model.index(0))

    def clear(self) -> None:
        """The target runs again: no frame, no variables, watches without values."""
        self._frame = None
        self.stack_model.set_frames([])
        self.variables_model.reset()
        self._evaluate_watches()

    def add_watch(self, expression: str) -> None:
        """Watch ``expression``: it is evaluated in the selected frame at each stop."""
        expression = expression.strip()
        if expression and expression not in self._watches:
            self._watches.append(expression)
            self._evaluate_watches()

    def remove_watch(self, expression: str) -> None:
        if expression in self._watches:
            self._watches.remove(expression)
            self._evaluate_watches()

    # frames and variables

    def _on_stack_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        frame = self.stack_model.frame(current.row())
        if frame is None:
            return
        self._frame = frame
        self.sig_frame_selected.emit(frame, current.row() == 0)
        self.variables_model.reset()
        frame_id = frame.id
        self._client.inspect(lambda dbg: inspection.frame_variables(dbg, frame_id),
                             self._on_variables_inspected)
        self._evaluate_watches()

    def _on_variables_inspected(self, result: list[inspection.Child] | Exception) -> None:
        if isinstance(result, Exception):
            self.variables_model.reset([ValueRow("error", "", str(result), error=True)])
        else:
            self.variables_model.reset([_row(child) for child in result])

    def _fetch_children(self, expression: str,
                        done: Callable[[list[ValueRow] | Exception], None]) -> None:
        frame = self._frame
        if frame is None:
            return
        frame_id = frame.id

        def children(dbg: Debugger) -> list[ValueRow]:
            return [_row(child) for child in inspection.children(dbg, frame_id, expression)]

        self._client.inspect(children, done)

    # watches

    def _evaluate_watches(self) -> None:
        frame, expressions = self._frame, list(self._watches)
        if frame is None:
            self.watch_model.reset([ValueRow(e, "", "", "") for e in expressions])
            return
        frame_id = frame.id

        def evaluate(dbg: Debugger) -> list[ValueRow]:
            rows = []
            for expression in expressions:
                try:
                    rows.append(_row(inspection.watch(dbg, frame_id, expression)))
                except (EvaluationError, ValueError, SyntaxError) as exc:
                    rows.append(ValueRow(expression, "", str(exc), "", error=True))
            return rows

        self._client.inspect(evaluate, self._on_watches_inspected)

    def _on_watches_inspected(self, result: list[ValueRow] | Exception) -> None:
        if isinstance(result, Exception):
            result = [ValueRow(e, "", str(result), error=True) for e in self._watches]
        self.watch_model.reset(result)

    def _on_watch_input_return_pressed(self) -> None:
        self.add_watch(self.watch_input.text())
        self.watch_input.clear()

    def _on_remove_watch_triggered(self) -> None:
        index = self.watch_view.currentIndex()
        while index.isValid() and index.parent().isValid():
            index = index.parent()
        row = self.watch_model.row_at(index) if index.isValid() else None
        if row is not None:
            self.remove_watch(row.name)

    def _on_variables_menu_requested(self, position) -> None:
        row = self.variables_model.row_at(self.variables_view.indexAt(position))
        if row is None or not row.expression:
            return
        menu = QMenu(self)
        menu.addAction(icon("watch"), "Add to Watches", lambda: self.add_watch(row.expression))
        menu.exec(self.variables_view.viewport().mapToGlobal(position))

    def _on_watch_menu_requested(self, position) -> None:
        menu = QMenu(self)
        menu.addAction(self.action_remove_watch)
        menu.exec(self.watch_view.viewport().mapToGlobal(position))
