"""Open files as tabs of editable code views; save, dirty markers, changes on disk.

Each tab is a :class:`CodeView` made editable. Saving writes the file, which the
runtime's watcher sees like any editor's save (so the plugin hot-reloads). A file that
changes on disk is read again when the tab has no unsaved edits; otherwise the user
chooses between the disk's version and their own. Unsaved edits are never dropped
without asking: closing a modified tab, or all of them, asks first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QTabWidget, QVBoxLayout, QWidget

from logomesh_studio.studio.widgets.code_view import CodeView

Prompt = Callable[[str, str, Sequence[str]], str]
"""Asks the user ``(title, text, choices)`` and returns the choice (the last one when
the dialog is dismissed). Replaced in tests."""

SAVE, DISCARD, CANCEL = "Save", "Discard", "Cancel"
RELOAD, KEEP_MINE = "Reload", "Keep Mine"
DIRTY_MARK = " ●"


def ask(parent: QWidget, title: str, text: str, choices: Sequence[str]) -> str:
    """A message box with one button per choice; the first is the default."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton,
                      parent)
    buttons = [box.addButton(choice, QMessageBox.ButtonRole.ActionRole) for choice in choices]
    box.setDefaultButton(buttons[0])
    box.setEscapeButton(buttons[-1])
    box.exec()
    clicked = box.clickedButton()
    return choices[buttons.index(clicked)] if clicked in buttons else choices[-1]


class EditorTabs(QWidget):
    """The workspace's open files; one editable code view per tab."""

    sig_view_opened = Signal(object)  # CodeView: a new tab (wire breakpoints, coverage)
    sig_current_changed = Signal(object)  # CodeView | None
    sig_view_closed = Signal(str)  # path of a tab that closed
    sig_file_saved = Signal(str)  # path
    sig_error = Signal(str)  # a file could not be read or written

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editor_tabs")
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("editor_tab_widget")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.prompt: Prompt = lambda title, text, choices: ask(self, title, text, choices)
        self._disk_text: dict[CodeView, str] = {}  # what the file held when loaded or saved
        self._pending: set[str] = set()
        self._watcher = QFileSystemWatcher(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.tabs.tabCloseRequested.connect(self._on_tabs_close_requested)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)

    # views

    def views(self) -> list[CodeView]:
        """Every open view, in tab order."""
        return [self.tabs.widget(i) for i in range(self.tabs.count())]  # type: ignore[misc]

    def current_view(self) -> CodeView | None:
        """The view of the selected tab, if any."""
        view = self.tabs.currentWidget()
        return view if isinstance(view, CodeView) else None

    def view_for(self, path: str | os.PathLike[str]) -> CodeView | None:
        """The open view of ``path``, if any."""
        wanted = os.path.realpath(path)
        return next((v for v in self.views() if os.path.realpath(v.path) == wanted), None)

    def modified_views(self) -> list[CodeView]:
        """Views with unsaved edits."""
        return [view for view in self.views() if view.modified]

    def open_file(self, path: str | os.PathLike[str], line: int = 0) -> CodeView | None:
        """Show ``path`` in its tab (opening one if needed), at ``line`` if given; None
        (and sig_error) when the file cannot be read."""
        view = self.view_for(path)
        if view is None:
            view = CodeView(self)
            view.set_editable(True)
            if not view.load_file(path):
                view.deleteLater()
                self.sig_error.emit(f"Cannot open {path}: not a readable UTF-8 text file")
                return None
            self._disk_text[view] = view.toPlainText()
            view.document().modificationChanged.connect(
                lambda _modified, v=view: self._update_title(v))
            index = self.tabs.addTab(view, Path(view.path).name)
            self.tabs.setTabToolTip(index, view.path)
            self._watcher.addPath(view.path)
            self.sig_view_opened.emit(view)
        self.tabs.setCurrentWidget(view)
        if line:
            view.go_to_line(line)
        view.setFocus()
        return view

    # saving and closing

    def save(self, view: CodeView | None = None) -> bool:
        """Write ``view`` (default: the current one) to its file; False on failure."""
        view = view or self.current_view()
        if view is None:
            return False
        try:
            view.save_file()
        except OSError as exc:
            self.sig_error.emit(f"Cannot save {view.path}: {exc}")
            return False
        self._disk_text[view] = view.toPlainText()
        if view.path not in self._watcher.files():  # a new file, or replaced by rename
            self._watcher.addPath(view.path)
        self.sig_file_saved.emit(view.path)
        return True

    def save_all(self) -> bool:
        """Save every modified view; False if any could not be saved."""
        return all([self.save(view) for view in self.modified_views()])

    def close_view(self, view: CodeView) -> bool:
        """Close ``view``'s tab, asking first when it has unsaved edits; False if the
        user cancelled or the save failed."""
        if view.modified:
            choice = self.prompt("Unsaved Changes",
                                 f"{Path(view.path).name} has unsaved changes. Save them?",
                                 (SAVE, DISCARD, CANCEL))
            if choice == CANCEL or (choice == SAVE and not self.save(view)):
                return False
        self._forget(view)
        return True

    def close_all(self) -> bool:
        """Close every tab (quitting), asking once about unsaved edits; False if the
        user cancelled or a save failed (nothing is closed then)."""
        modified = self.modified_views()
        if modified:
            names = "\n".join(f"  {Path(view.path).name}" for view in modified)
            choice = self.prompt("Unsaved Changes",
                                 f"These files have unsaved changes:\n{names}\nSave them?",
                                 (SAVE, DISCARD, CANCEL))
            if choice == CANCEL or (choice == SAVE and not self.save_all()):
                return False
        for view in self.views():
            self._forget(view)
        return True

    def _forget(self, view: CodeView) -> None:
        self.tabs.removeTab(self.tabs.indexOf(view))
        self._disk_text.pop(view, None)
        if view.path and self.view_for(view.path) is None:
            self._watcher.removePath(view.path)
        view.deleteLater()
        self.sig_view_closed.emit(view.path or "")

    # changes on disk

    def check_disk(self) -> None:
        """Look for open files changed on disk by others (e.g. when the window is
        activated: a rename-on-save may have escaped the file watcher)."""
        for view in self.views():
            if view.changed_on_disk():
                self._pending.add(view.path)
        self._handle_pending()

    def _on_watcher_file_changed(self, path: str) -> None:
        # Handled on the next turn of the loop: one prompt per burst of writes, and
        # never a modal dialog inside the watcher's signal.
        self._pending.add(path)
        QTimer.singleShot(0, self, self._handle_pending)

    def _handle_pending(self) -> None:
        pending, self._pending = self._pending, set()
        for path in sorted(pending):
            view = self.view_for(path)
            if view is not None:
                self._on_disk_changed(view)

    def _on_disk_changed(self, view: CodeView) -> None:
        path = view.path
        if Path(path).exists() and path not in self._watcher.files():
            self._watcher.addPath(path)  # replaced by a rename: watch the new file
        try:
            disk = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            # Deleted (or unreadable): keep the text, marked unsaved, so Save restores it.
            view.document().setModified(True)
            return
        if disk == self._disk_text.get(view):  # our own save, or a touch
            return
        if view.modified:
            choice = self.prompt(
                "File Changed on Disk",
                f"{Path(path).name} changed on disk, and you have unsaved changes.\n"
                "Reload it (your changes are lost) or keep your version?",
                (RELOAD, KEEP_MINE))
            if choice != RELOAD:
                self._disk_text[view] = disk  # ask again only when it changes again
                return
        if view.reload():
            self._disk_text[view] = view.toPlainText()

    # presentation

    def _update_title(self, view: CodeView) -> None:
        index = self.tabs.indexOf(view)
        if index >= 0:
            name = Path(view.path).name
            self.tabs.setTabText(index, name + (DIRTY_MARK if view.modified else ""))

    def _on_tabs_close_requested(self, index: int) -> None:
        view = self.tabs.widget(index)
        if isinstance(view, CodeView):
            self.close_view(view)

    def _on_tabs_current_changed(self, index: int) -> None:
        self.sig_current_changed.emit(self.current_view())
