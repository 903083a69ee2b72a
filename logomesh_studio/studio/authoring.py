"""The plugin author's loop inside the main window: edit, save, test, scaffold.

:class:`AuthoringTools` owns the editor and tests panes and the actions that tie them
to the rest of the window (File > New Plugin..., File > Save Messages..., "Generate
Tests" in the message inspector, plugin panels). The main window only docks the panes
and calls a few hooks (``open_file``, ``confirm_close``), so this loop stays in one place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMenu

from logomesh_studio.devtools._breakpoints import executable_lines
from logomesh_studio.studio.actions import add_actions, make_action
from logomesh_studio.studio.panes.code_editor import EditorPane, is_editable
from logomesh_studio.studio.panes.message_export import MessageExport
from logomesh_studio.studio.panes.new_plugin_dialog import NewPluginDialog, main_file
from logomesh_studio.studio.panes.tests import TestsPane
from logomesh_studio.studio.panes.tests_debug import TestDebugRun
from logomesh_studio.studio.panes.tests_model import TestNode
from logomesh_studio.studio.plugin_panels import PluginPanels
from logomesh_studio.studio.widgets.code_view import CodeView

if TYPE_CHECKING:
    from logomesh_studio.studio.main_window import MainWindow

OPEN_FILES_KEY = "editor/open_files"
"""Settings key: JSON ``{workspace: {"files": [...], "current": path}}``."""
MAX_REMEMBERED_WORKSPACES = 20


class AuthoringTools(QObject):
    """Editor, tests and scaffolding for ``window``; built before its docks."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.client = window.client
        self.editor = EditorPane(window)
        self.tests = TestsPane(self.client, window)
        self._dialog: NewPluginDialog | None = None
        self._keep_open_files = True  # off while tabs are being restored or closed for good
        self.panels = PluginPanels(self.client, window, self)
        self.test_debug = TestDebugRun(self._start_test_session, self)
        self.export = MessageExport(window.messages, self.client, self)
        window.messages.extra_context_actions += [self.export.action_generate,
                                                  self.export.action_save]
        self.action_new_plugin = make_action(
            window, "&New Plugin…", "new-file", "Create a plugin from a template "
            "(basic, service, ui, workflow)", "Ctrl+Shift+N", name="action_new_plugin")
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.editor.tabs.sig_view_opened.connect(self._on_editor_view_opened)
        self.editor.tabs.sig_current_changed.connect(self._on_editor_tabs_changed)
        self.editor.tabs.sig_view_closed.connect(self._on_editor_tabs_changed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.editor.tabs.sig_error.connect(self._on_editor_error)
        self.editor.sig_file_saved.connect(self._on_editor_file_saved)
        self.editor.sig_open_external_requested.connect(self.window.open_external)
        self.tests.sig_open_file_requested.connect(self.window.open_location)
        self.tests.sig_coverage_changed.connect(self._on_tests_coverage_changed)
        self.tests.sig_debug_requested.connect(self.debug_test)
        self.test_debug.sig_finished.connect(self._on_test_debug_finished)
        self.test_debug.sig_error.connect(self._on_editor_error)
        self.export.sig_file_written.connect(self.open_file)
        self.export.sig_error.connect(self._on_editor_error)
        self.export.sig_status.connect(self._on_status)
        self.action_new_plugin.triggered.connect(self.new_plugin)
        self.panels.sig_panel_failed.connect(
            lambda plugin_id, error: self._on_editor_error(f"Panel of {plugin_id}: {error}"))
        self.window.installEventFilter(self)

    def add_menu_entries(self, file_menu: QMenu, messages_menu: QMenu) -> None:
        """New Plugin and the editor's file actions in the File menu, Save Messages and
        Generate Tests in the Messages menu."""
        file_menu.insertAction(file_menu.actions()[0], self.action_new_plugin)
        quit_action = self.window.action_quit
        for action in (self.editor.action_save, self.editor.action_save_all,
                       self.editor.action_close, None, self.export.action_save, None):
            if action is None:
                file_menu.insertSeparator(quit_action)
            else:
                file_menu.insertAction(quit_action, action)
        messages_menu.addSeparator()
        messages_menu.addAction(self.export.action_generate)

    def tests_menu(self) -> QMenu:
        """The Tests menu: runs, debug, coverage and re-run on save."""
        menu = QMenu("&Tests", self.window)
        tests = self.tests
        add_actions(menu, (tests.action_run_all, tests.action_run_selected,
                           tests.action_run_failed, tests.action_stop, None, tests.action_debug,
                           None, tests.action_coverage, tests.action_rerun_on_save))
        return menu

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

    def new_plugin(self) -> NewPluginDialog:
        """Show File > New Plugin...; a created plugin's main file opens in the editor."""
        if self._dialog is not None:
            self._dialog.deleteLater()
        dialog = self._dialog = NewPluginDialog(self.client.workspace, self.window)
        dialog.sig_plugin_created.connect(self._on_plugin_created)
        dialog.open()
        return dialog

    def _on_plugin_created(self, folder: str) -> None:
        workspace = self.client.workspace
        inside = workspace is not None and Path(folder).parent.resolve() == workspace.resolve()
        self._on_status(f"Created {folder}" + ("" if inside else
                        " (outside the open workspace: open its folder to load it)"))
        entry = main_file(Path(folder))
        if entry is not None:
            self.open_file(str(entry))

    def debug_test(self, test: TestNode) -> bool:
        """Run ``test`` in Studio with its plugin under the debugger (see tests_debug)."""
        workspace = self.client.workspace
        if workspace is None:
            return False
        plugin_id = test.plugin().key
        started = self.test_debug.start(test.key, plugin_id, workspace)
        if started:
            self._on_status(f"Debugging {test.name}: breakpoints in {plugin_id} stop it")
        return started

    def _start_test_session(self, plugin_id: str, runtime):
        debugger = self.window.debugger
        if not debugger.debug_plugin(plugin_id, runtime):
            return None
        self.window.docks["debugger"].show()
        self.window.docks["debugger"].raise_()
        return debugger.client.session

    def _on_test_debug_finished(self, nodeid: str, code: int) -> None:
        result = {0: "passed", 1: "failed"}.get(code, f"did not finish (pytest exit {code})")
        self._on_status(f"{nodeid} {result} under the debugger")

    def confirm_close(self) -> bool:
        """Ask about unsaved edits before the window closes; False keeps it open. When it
        closes, a test run in progress is stopped (its child process killed)."""
        self.remember_open_files()
        self._keep_open_files = False  # closing every tab now is not the user's choice
        if not self.editor.tabs.close_all():
            self._keep_open_files = True
            self.remember_open_files()
            return False
        self.tests.process.stop()
        return True

    # open files per workspace, in the Studio settings

    def _saved_open_files(self) -> dict[str, dict[str, object]]:
        try:
            saved = json.loads(str(self.window.settings.value(OPEN_FILES_KEY, "") or "{}"))
        except ValueError:
            return {}
        return saved if isinstance(saved, dict) else {}

    def remember_open_files(self) -> None:
        """Save which files of the workspace are open in the editor, and the current one."""
        workspace = self.client.workspace
        if workspace is None or not self._keep_open_files:
            return
        root = workspace.resolve()
        files = [view.path for view in self.editor.tabs.views()
                 if view.path and Path(view.path).resolve().is_relative_to(root)]
        current = self.editor.tabs.current_view()
        saved = self._saved_open_files()
        saved.pop(str(root), None)
        saved[str(root)] = {"files": files,  # most recent workspace last
                            "current": current.path if current is not None else None}
        kept = dict(list(saved.items())[-MAX_REMEMBERED_WORKSPACES:])
        self.window.settings.setValue(OPEN_FILES_KEY, json.dumps(kept))

    def _on_client_workspace_opened(self, workspace: str) -> None:
        if not workspace:
            return
        entry = self._saved_open_files().get(str(Path(workspace).resolve()))
        files = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(files, list):
            return
        self._keep_open_files = False
        try:
            for path in files:
                if isinstance(path, str) and os.path.isfile(path):
                    self.editor.open_file(path)
            current = entry.get("current")
            view = self.editor.tabs.view_for(current) if isinstance(current, str) else None
            if view is not None:
                self.editor.tabs.tabs.setCurrentWidget(view)
        finally:
            self._keep_open_files = True

    def _on_editor_tabs_changed(self, _: object = None) -> None:
        self.remember_open_files()

    # slots

    def _on_editor_view_opened(self, view: CodeView) -> None:
        # Breakpoints show and toggle in the editor's gutter as in the debugger's.
        self.window.debugger.attach_code_view(view)
        self._show_coverage(view)
        # Edited lines move: the last run's shading would point at the wrong ones.
        def forget_coverage(modified: bool) -> None:
            if modified:
                view.set_coverage((), ())

        view.document().modificationChanged.connect(forget_coverage)

    def _on_tests_coverage_changed(self) -> None:
        for view in self.editor.tabs.views():
            self._show_coverage(view)

    def _show_coverage(self, view: CodeView) -> None:
        found = self.tests.coverage_of(view.path) if not view.modified else None
        if found is None:
            view.set_coverage((), ())
            return
        missing = found[1]
        try:
            statements = executable_lines(view.path)
        except (OSError, SyntaxError, ValueError):
            statements = set(missing)
        view.set_coverage(statements - missing, missing)

    def _on_editor_file_saved(self, path: str) -> None:
        self.window.statusBar().showMessage(f"Saved {path}", 4000)
        debugger = self.window.built_pane("debugger")
        if debugger is not None and debugger.code_view.path and \
                os.path.realpath(debugger.code_view.path) == os.path.realpath(path):
            debugger.code_view.reload_if_changed()

    def _on_editor_error(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 10000)

    def _on_status(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 6000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Back in the window: files may have changed in another program meanwhile.
        if watched is self.window and event.type() == QEvent.Type.WindowActivate:
            self.editor.tabs.check_disk()
        return False


__all__ = ["AuthoringTools"]
