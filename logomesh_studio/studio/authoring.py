"""The plugin author's loop inside the main window: edit, save, test, scaffold.

:class:`AuthoringTools` owns the editor and tests panes and the actions that tie them
to the rest of the window (File > New Plugin..., File > Save Messages..., "Generate
Tests" in the message inspector, plugin panels). The main window only docks the panes
and calls a few hooks (``open_file``, ``confirm_close``), so this loop stays in one place.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMenu

from logomesh_studio.studio.panes.code_editor import EditorPane, is_editable
from logomesh_studio.studio.widgets.code_view import CodeView

if TYPE_CHECKING:
    from logomesh_studio.studio.main_window import MainWindow


class AuthoringTools(QObject):
    """Editor, tests and scaffolding for ``window``; built before its docks."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.client = window.client
        self.editor = EditorPane(window)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.editor.tabs.sig_view_opened.connect(self._on_editor_view_opened)
        self.editor.tabs.sig_error.connect(self._on_editor_error)
        self.editor.sig_file_saved.connect(self._on_editor_file_saved)
        self.editor.sig_open_external_requested.connect(self.window.open_external)
        self.window.installEventFilter(self)

    def add_menu_entries(self, file_menu: QMenu) -> None:
        """Put the editor's file actions in the File menu, above Quit."""
        quit_action = self.window.action_quit
        for action in (self.editor.action_save, self.editor.action_save_all,
                       self.editor.action_close):
            file_menu.insertAction(quit_action, action)
        file_menu.insertSeparator(quit_action)

    # hooks the main window calls

    def can_open(self, path: str) -> bool:
        """True for files the editor opens (text files)."""
        return is_editable(path)

    def open_file(self, path: str, line: int = 0) -> CodeView | None:
        """Show ``path`` in the editor at ``line`` and raise the editor's dock."""
        view = self.editor.open_file(path, line)
        if view is not None:
            dock = self.window.docks["editor"]
            dock.show()
            dock.raise_()
        return view

    def confirm_close(self) -> bool:
        """Ask about unsaved edits before the window closes; False keeps it open."""
        return self.editor.tabs.close_all()

    # slots

    def _on_editor_view_opened(self, view: CodeView) -> None:
        # Breakpoints show and toggle in the editor's gutter as in the debugger's.
        self.window.debugger.attach_code_view(view)

    def _on_editor_file_saved(self, path: str) -> None:
        self.window.statusBar().showMessage(f"Saved {path}", 4000)
        debugger = self.window.built_pane("debugger")
        if debugger is not None and debugger.code_view.path and \
                os.path.realpath(debugger.code_view.path) == os.path.realpath(path):
            debugger.code_view.reload_if_changed()

    def _on_editor_error(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 10000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Back in the window: files may have changed in another program meanwhile.
        if watched is self.window and event.type() == QEvent.Type.WindowActivate:
            self.editor.tabs.check_disk()
        return False


__all__ = ["AuthoringTools"]
