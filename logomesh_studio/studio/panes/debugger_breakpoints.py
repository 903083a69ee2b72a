"""The debugger's breakpoints list and message-breakpoint editor.

Source breakpoints (file:line, with their condition, hit condition or log message) and
message breakpoints ("stop when plugin X receives type T") in one list, each with an
enable checkbox. The panel only asks (signals); the pane changes the breakpoints and
shows them again with :meth:`BreakpointsPanel.set_breakpoints`.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.devtools.workspace_breakpoints import (
    ANY_TYPE,
    MessageBreakpoint,
    SourceBreakpoint,
    WorkspaceBreakpoints,
)
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.item_models import TableModel

_Index = QModelIndex | QPersistentModelIndex
Row = SourceBreakpoint | MessageBreakpoint


def describe(bp: SourceBreakpoint) -> str:
    """What a source breakpoint does beyond stopping: its condition, hits, log message."""
    parts = []
    if bp.condition:
        parts.append(f"when {bp.condition}")
    if bp.hit_condition:
        parts.append(f"hits {bp.hit_condition}")
    if bp.log_message:
        parts.append(f"log “{bp.log_message}”")
    if not bp.verified:
        parts.append("cannot hit here")
    return ", ".join(parts)


class BreakpointsModel(TableModel):
    """Source breakpoints, then message breakpoints; column 0 is checkable (enabled)."""

    HEADERS = ("Breakpoint", "Details")

    sig_enable_requested = Signal(object, bool)  # the checkbox was clicked; rows stay as they are

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self.root = ""  # shown paths are relative to it

    def set_breakpoints(self, breakpoints: WorkspaceBreakpoints) -> None:
        self.beginResetModel()
        self._rows = [*sorted(breakpoints.source, key=lambda bp: (bp.path, bp.line)),
                      *breakpoints.messages]
        self.endResetModel()

    def row_at(self, index: _Index) -> Row | None:
        return self._rows[index.row()] if index.isValid() else None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else flags

    def setData(self, index: _Index, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked
        self.sig_enable_requested.emit(self._rows[index.row()], checked)
        return True

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        bp = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(bp, MessageBreakpoint):
                kind = "any message" if bp.type == ANY_TYPE else f"“{bp.type}”"
                return f"{bp.plugin_id} receives {kind}" if column == 0 else "before the handler"
            return f"{self._short(bp.path)}:{bp.line}" if column == 0 else describe(bp)
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if bp.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon("breakpoint-message" if isinstance(bp, MessageBreakpoint)
                        else "breakpoint")
        if role == Qt.ItemDataRole.ToolTipRole:
            if isinstance(bp, SourceBreakpoint):
                return f"{bp.path}:{bp.line} (double-click to show)"
            return f"Stop before {bp.plugin_id}'s handler for {bp.type} runs"
        if role == Qt.ItemDataRole.ForegroundRole and (not bp.enabled or column == 1):
            return QBrush(theme.color("muted"))
        return None

    def _short(self, path: str) -> str:
        if self.root and path.startswith(self.root + os.sep):
            return os.path.relpath(path, self.root)
        return os.path.basename(path)


class BreakpointsPanel(QWidget):
    """The breakpoints list plus a "stop when <plugin> receives <type>" editor."""

    sig_open_requested = Signal(str, int)  # path, line
    sig_enable_requested = Signal(object, bool)  # SourceBreakpoint | MessageBreakpoint
    sig_remove_requested = Signal(object)  # SourceBreakpoint | MessageBreakpoint
    sig_message_breakpoint_requested = Signal(str, str)  # plugin id, type
    sig_plugin_chosen = Signal(str)  # the editor wants the types this plugin handles

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = BreakpointsModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().resizeSection(0, 280)
        self.plugin_box = QComboBox(self)
        self.plugin_box.setToolTip("Plugin that receives the message")
        self.plugin_box.setMinimumContentsLength(8)
        self.type_box = QComboBox(self)
        self.type_box.setEditable(True)
        self.type_box.setToolTip(f"Message type ({ANY_TYPE} for any type)")
        self.type_box.setMinimumContentsLength(8)
        self.action_add = make_action(self, "Add Message Breakpoint", "breakpoint-message",
                                      "Stop when the plugin receives a message of this type, "
                                      "before its handler runs",
                                      name="action_add_message_breakpoint")
        self.action_remove = make_action(self, "Remove Breakpoint", "remove",
                                         "Remove the selected breakpoint",
                                         QKeySequence.StandardKey.Delete,
                                         name="action_remove_breakpoint",
                                         context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.view.addAction(self.action_remove)
        editor = QHBoxLayout()
        editor.setContentsMargins(4, 0, 0, 0)
        editor.addWidget(QLabel("Stop when", self))
        editor.addWidget(self.plugin_box, 1)
        editor.addWidget(QLabel("receives", self))
        editor.addWidget(self.type_box, 1)
        for action in (self.action_add, self.action_remove):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            editor.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.view, 1)
        layout.addLayout(editor)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.view.doubleClicked.connect(self._on_view_double_clicked)
        self.model.sig_enable_requested.connect(self.sig_enable_requested)
        self.action_add.triggered.connect(self._on_add_triggered)
        self.action_remove.triggered.connect(self._on_remove_triggered)
        self.plugin_box.currentTextChanged.connect(self.sig_plugin_chosen)

    def set_breakpoints(self, breakpoints: WorkspaceBreakpoints, root: str = "") -> None:
        self.model.root = root
        self.model.set_breakpoints(breakpoints)

    def set_plugins(self, plugin_ids: list[str], preferred: str = "") -> None:
        """Offer these plugins in the editor, selecting ``preferred`` if given."""
        current = preferred or self.plugin_box.currentText()
        self.plugin_box.blockSignals(True)
        self.plugin_box.clear()
        self.plugin_box.addItems(plugin_ids)
        self.plugin_box.blockSignals(False)
        if current in plugin_ids:
            self.plugin_box.setCurrentText(current)
        self.sig_plugin_chosen.emit(self.plugin_box.currentText())

    def set_types(self, types: list[str]) -> None:
        """Offer these message types (plus "any") for the chosen plugin."""
        typed = self.type_box.currentText()
        self.type_box.clear()
        self.type_box.addItems([*types, ANY_TYPE])
        if typed and typed in types:
            self.type_box.setCurrentText(typed)

    def _on_add_triggered(self) -> None:
        plugin_id = self.plugin_box.currentText().strip()
        type = self.type_box.currentText().strip() or ANY_TYPE
        if plugin_id:
            self.sig_message_breakpoint_requested.emit(plugin_id, type)

    def _on_remove_triggered(self) -> None:
        row = self.model.row_at(self.view.currentIndex())
        if row is not None:
            self.sig_remove_requested.emit(row)

    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        row = self.model.row_at(index)
        if isinstance(row, SourceBreakpoint):
            self.sig_open_requested.emit(row.path, row.line)
