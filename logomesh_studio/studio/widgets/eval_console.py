"""An evaluate console: one input line with history (Up/Down) above a transcript.

The console only asks (``sig_evaluate_requested``); its owner evaluates and answers
with :meth:`EvaluateConsole.show_result`.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from logomesh_studio.studio import theme


class HistoryLineEdit(QLineEdit):
    """A line edit that recalls earlier entries with Up and Down, as a shell does."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history: list[str] = []
        self._position = 0
        self._draft = ""

    @property
    def history(self) -> list[str]:
        return list(self._history)

    def remember(self, text: str) -> None:
        """Add ``text`` to the history (not twice in a row) and start browsing anew."""
        if text and (not self._history or self._history[-1] != text):
            self._history.append(text)
        self._position = len(self._history)
        self._draft = ""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Up and self._position > 0:
            if self._position == len(self._history):
                self._draft = self.text()
            self._position -= 1
            self.setText(self._history[self._position])
        elif event.key() == Qt.Key.Key_Down and self._position < len(self._history):
            self._position += 1
            at_end = self._position == len(self._history)
            self.setText(self._draft if at_end else self._history[self._position])
        else:
            super().keyPressEvent(event)


class EvaluateConsole(QWidget):
    """Type an expression, press Enter: it is evaluated in the selected frame."""

    sig_evaluate_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.transcript = QPlainTextEdit(self)
        self.transcript.setReadOnly(True)
        self.transcript.setFont(font)
        self.transcript.setMaximumBlockCount(5000)
        self.transcript.setPlaceholderText("Results of evaluated expressions appear here.")
        self.input = HistoryLineEdit(self)
        self.input.setFont(font)
        self.input.setPlaceholderText("Evaluate in the selected frame (Enter; Up/Down: history)")
        self.input.setClearButtonEnabled(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.input)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.input.returnPressed.connect(self._on_input_return_pressed)

    def _on_input_return_pressed(self) -> None:
        expression = self.input.text().strip()
        if not expression:
            return
        self.input.remember(expression)
        self.input.clear()
        self.sig_evaluate_requested.emit(expression)

    def show_result(self, expression: str, text: str, error: bool = False) -> None:
        """Append ``expression`` and its result (or error) to the transcript."""
        muted = theme.color("muted").name()
        style = f' style="color:{theme.color("error").name()}"' if error else ""
        self.transcript.appendHtml(
            f'<span style="color:{muted}">&gt;&gt;&gt; {html.escape(expression)}</span>'
            f"<br><span{style}>{html.escape(text)}</span>"
        )

    def clear(self) -> None:
        self.transcript.clear()
