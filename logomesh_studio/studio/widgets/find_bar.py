"""Find and replace in one text editor: a bar shown above or below it (Ctrl+F / Ctrl+H).

The bar searches the editor it is given (:meth:`FindBar.set_editor`), wrapping around
the end, optionally case-sensitive. Replace changes the current match and finds the next;
Replace All is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QWidget,
)


class FindBar(QWidget):
    """Find (and optionally replace) text in a QPlainTextEdit."""

    sig_closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("find_bar")
        self._editor: QPlainTextEdit | None = None
        self.find_field = QLineEdit(self)
        self.find_field.setObjectName("find_field")
        self.find_field.setPlaceholderText("Find")
        self.find_field.setClearButtonEnabled(True)
        self.replace_field = QLineEdit(self)
        self.replace_field.setObjectName("replace_field")
        self.replace_field.setPlaceholderText("Replace with")
        self.case_box = QCheckBox("Match case", self)
        self.status = QLabel(self)
        self.status.setObjectName("find_status")
        self._next = self._button("Next", "Find the next match (Enter)", self.find_next)
        self._previous = self._button("Previous", "Find the previous match",
                                      self.find_previous)
        self._replace = self._button("Replace", "Replace this match and find the next",
                                     self.replace)
        self._replace_all = self._button("Replace All", "Replace every match (one undo step)",
                                         self.replace_all)
        close = self._button("✕", "Close the find bar (Esc)", self.close_bar)
        close.setAutoRaise(True)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.find_field, 0, 0)
        layout.addWidget(self._next, 0, 1)
        layout.addWidget(self._previous, 0, 2)
        layout.addWidget(self.case_box, 0, 3)
        layout.addWidget(self.status, 0, 4)
        layout.addWidget(close, 0, 5)
        layout.addWidget(self.replace_field, 1, 0)
        layout.addWidget(self._replace, 1, 1)
        layout.addWidget(self._replace_all, 1, 2)
        layout.setColumnStretch(0, 1)
        self._replace_widgets = (self.replace_field, self._replace, self._replace_all)
        self._wire_signals()
        self.hide()

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _wire_signals(self) -> None:
        self.find_field.returnPressed.connect(self.find_next)
        self.find_field.textEdited.connect(self._on_find_field_edited)
        self.replace_field.returnPressed.connect(self.replace)

    # public API

    def set_editor(self, editor: QPlainTextEdit | None) -> None:
        """Search ``editor`` from now on (None: nothing to search)."""
        self._editor = editor
        self.status.clear()

    def open(self, replace: bool = False) -> None:
        """Show the bar (with the replace row if ``replace``), seeded with the selection."""
        for widget in self._replace_widgets:
            widget.setVisible(replace)
        editor = self._editor
        if editor is not None:
            selected = editor.textCursor().selectedText()
            if selected and "\u2029" not in selected:  # a paragraph separator: many lines
                self.find_field.setText(selected)
            self._replace.setEnabled(not editor.isReadOnly())
            self._replace_all.setEnabled(not editor.isReadOnly())
        self.show()
        self.find_field.setFocus()
        self.find_field.selectAll()

    def close_bar(self) -> None:
        """Hide the bar and give the focus back to the editor."""
        self.hide()
        if self._editor is not None:
            self._editor.setFocus()
        self.sig_closed.emit()

    def find_next(self) -> bool:
        """Select the next match after the cursor, wrapping around; False if none."""
        return self._find(backward=False)

    def find_previous(self) -> bool:
        """Select the previous match before the cursor, wrapping around; False if none."""
        return self._find(backward=True)

    def replace(self) -> bool:
        """Replace the selected match (if the selection is one) and find the next."""
        editor = self._editor
        if editor is None or editor.isReadOnly():
            return False
        cursor = editor.textCursor()
        if cursor.hasSelection() and self._matches(cursor.selectedText()):
            cursor.insertText(self.replace_field.text())
        return self.find_next()

    def replace_all(self) -> int:
        """Replace every match in the document as one undo step; returns how many."""
        editor = self._editor
        needle = self.find_field.text()
        if editor is None or editor.isReadOnly() or not needle:
            return 0
        document = editor.document()
        count = 0
        edit = QTextCursor(document)
        edit.beginEditBlock()
        found = document.find(needle, 0, self._flags(backward=False))
        while not found.isNull():
            found.insertText(self.replace_field.text())
            count += 1
            found = document.find(needle, found.position(), self._flags(backward=False))
        edit.endEditBlock()
        self.status.setText(f"{count} replaced")
        return count

    # internals

    def _flags(self, backward: bool) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        if self.case_box.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        return flags

    def _matches(self, text: str) -> bool:
        needle = self.find_field.text()
        return text == needle if self.case_box.isChecked() else text.lower() == needle.lower()

    def _find(self, backward: bool) -> bool:
        editor = self._editor
        needle = self.find_field.text()
        if editor is None or not needle:
            self.status.clear()
            return False
        document = editor.document()
        cursor = editor.textCursor()
        start = cursor.selectionStart() if backward else cursor.selectionEnd()
        found = document.find(needle, start, self._flags(backward))
        if found.isNull():  # wrap around
            wrap_from = document.characterCount() - 1 if backward else 0
            found = document.find(needle, wrap_from, self._flags(backward))
        if found.isNull():
            self.status.setText("No matches")
            return False
        editor.setTextCursor(found)
        editor.centerCursor()
        self.status.setText(f"Line {found.blockNumber() + 1}")
        return True

    def _on_find_field_edited(self, text: str) -> None:
        # Find as you type, from where the current selection starts.
        editor = self._editor
        if editor is None or not text:
            self.status.clear()
            return
        cursor = editor.textCursor()
        cursor.setPosition(cursor.selectionStart())
        editor.setTextCursor(cursor)
        self.find_next()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        super().keyPressEvent(event)
