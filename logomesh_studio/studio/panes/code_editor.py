"""Editor pane: the workspace's files in tabs, with save, undo, find/replace, go to line.

Saving a plugin's file is what an external editor's save is to the runtime: the watcher
sees the write and the plugin hot-reloads. The pane's actions apply while the focus is
in it (Ctrl+S here saves the file, elsewhere it is free for other panes).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLabel, QToolBar, QVBoxLayout, QWidget

from logomesh_studio.studio.actions import add_actions, make_action
from logomesh_studio.studio.widgets.code_view import CodeView
from logomesh_studio.studio.widgets.editor_tabs import EditorTabs
from logomesh_studio.studio.widgets.find_bar import FindBar

TEXT_SUFFIXES = (".py", ".pyi", ".toml", ".json", ".yaml", ".yml", ".md", ".txt", ".cfg",
                 ".ini", ".rst")
"""Files a location (traceback, log, profiler frame) opens in the editor; others go to
the desktop's default application."""


def is_editable(path: str) -> bool:
    """True for the text files the editor opens."""
    return path.endswith(TEXT_SUFFIXES)


class EditorPane(QWidget):
    """Tabs of editable files plus the find bar, a toolbar and the cursor position."""

    sig_open_external_requested = Signal(str, int)  # path, line
    sig_file_saved = Signal(str)  # path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editor_pane")
        self.tabs = EditorTabs(self)
        self.find_bar = FindBar(self)
        self.position_label = QLabel(self)
        self.position_label.setObjectName("editor_position")
        self.position_label.setContentsMargins(8, 0, 8, 0)
        self._build_actions()
        self.toolbar = QToolBar("Editor", self)
        self.toolbar.setObjectName("editor_toolbar")
        self.toolbar.setIconSize(self.toolbar.iconSize() * 0.75)
        add_actions(self.toolbar, (self.action_save, self.action_save_all, None,
                                   self.action_undo, self.action_redo, None, self.action_find,
                                   self.action_go_to_line, None, self.action_external))
        spacer = QWidget(self)
        spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding,
                             spacer.sizePolicy().Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.toolbar.addWidget(self.position_label)
        self.placeholder = QLabel("No file open. Open one from a plugin, a traceback, a log "
                                  "line, the profiler or the tests pane.", self)
        self.placeholder.setObjectName("editor_placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.find_bar)
        self._wire_signals()
        self._on_tabs_current_changed(None)

    def _action(self, name: str, text: str, icon_name: str, tip: str,
                shortcut: str | QKeySequence.StandardKey, slot: Callable[[], object]) -> QAction:
        action = make_action(self, text, icon_name, tip, shortcut, name=name,
                             context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_save = self._action(
            "action_save_file", "&Save", "save", "Save this file (a plugin's file hot-reloads)",
            QKeySequence.StandardKey.Save, self.save)
        self.action_save_all = self._action(
            "action_save_all_files", "Save A&ll", "save", "Save every modified file",
            "Ctrl+Shift+S", self.tabs.save_all)
        self.action_close = self._action(
            "action_close_file", "&Close File", "remove", "Close this file's tab",
            QKeySequence.StandardKey.Close, self.close_current)
        self.action_undo = self._action(
            "action_undo", "&Undo", "undo", "Undo the last edit", QKeySequence.StandardKey.Undo,
            lambda: self._current(CodeView.undo))
        self.action_redo = self._action(
            "action_redo", "&Redo", "redo", "Redo the last undone edit",
            QKeySequence.StandardKey.Redo, lambda: self._current(CodeView.redo))
        self.action_find = self._action(
            "action_find", "&Find…", "search", "Find text in this file",
            QKeySequence.StandardKey.Find, lambda: self.find_bar.open(replace=False))
        self.action_replace = self._action(
            "action_replace", "&Replace…", "search", "Find and replace in this file", "Ctrl+H",
            lambda: self.find_bar.open(replace=True))
        self.action_go_to_line = self._action(
            "action_go_to_line", "&Go to Line…", "goto-line", "Jump to a line of this file",
            "Ctrl+G", self.ask_line)
        self.action_external = self._action(
            "action_open_external", "Open in &External Editor", "external",
            "Open this file in your own editor (the editor/command setting, else the "
            "desktop's default)", "", self._on_external_triggered)
        # The view handles Ctrl+Z itself too; the actions are for menus and the toolbar.
        for action in (self.action_undo, self.action_redo):
            action.setShortcut(QKeySequence())

    def _wire_signals(self) -> None:
        self.tabs.sig_current_changed.connect(self._on_tabs_current_changed)
        self.tabs.sig_view_opened.connect(self._on_tabs_view_opened)
        self.tabs.sig_file_saved.connect(self.sig_file_saved)

    # public API

    def open_file(self, path: str, line: int = 0) -> CodeView | None:
        """Open ``path`` in a tab at ``line`` (if given)."""
        return self.tabs.open_file(path, line)

    def current_view(self) -> CodeView | None:
        return self.tabs.current_view()

    def save(self) -> bool:
        """Save the current file."""
        return self.tabs.save()

    def close_current(self) -> bool:
        view = self.tabs.current_view()
        return view is None or self.tabs.close_view(view)

    def ask_line(self) -> None:
        """Ask for a line number and go there (Ctrl+G)."""
        view = self.tabs.current_view()
        if view is None:
            return
        line, ok = QInputDialog.getInt(self, "Go to Line",
                                       f"Line (1-{view.blockCount()}):", view.cursor_line(), 1,
                                       view.blockCount())
        if ok:
            view.go_to_line(line)
            view.setFocus()

    # slots

    def _current(self, method: Callable[[CodeView], object]) -> None:
        view = self.tabs.current_view()
        if view is not None:
            method(view)

    def _on_external_triggered(self) -> None:
        view = self.tabs.current_view()
        if view is not None:
            self.sig_open_external_requested.emit(view.path, view.cursor_line())

    def _on_tabs_view_opened(self, view: CodeView) -> None:
        view.cursorPositionChanged.connect(self._update_position)
        view.undoAvailable.connect(self._update_actions)
        view.redoAvailable.connect(self._update_actions)
        view.document().modificationChanged.connect(self._update_actions)

    def _on_tabs_current_changed(self, view: CodeView | None) -> None:
        self.find_bar.set_editor(view)
        if view is None:
            self.find_bar.hide()
        self.placeholder.setVisible(view is None)
        self.tabs.setVisible(view is not None)
        self._update_position()
        self._update_actions()

    def _update_actions(self, *_args: object) -> None:
        view = self.tabs.current_view()
        has_view = view is not None
        self.action_save.setEnabled(view is not None and view.modified)
        self.action_save_all.setEnabled(bool(self.tabs.modified_views()))
        self.action_undo.setEnabled(view is not None and view.document().isUndoAvailable())
        self.action_redo.setEnabled(view is not None and view.document().isRedoAvailable())
        for action in (self.action_close, self.action_find, self.action_replace,
                       self.action_go_to_line, self.action_external):
            action.setEnabled(has_view)

    def _update_position(self) -> None:
        view = self.tabs.current_view()
        if view is None:
            self.position_label.clear()
            return
        cursor = view.textCursor()
        where = os.path.basename(view.path)
        self.position_label.setText(f"{where}  Ln {cursor.blockNumber() + 1}, "
                                    f"Col {cursor.positionInBlock() + 1}")
