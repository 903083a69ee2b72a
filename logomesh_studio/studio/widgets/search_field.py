"""A search box that reports its text once typing pauses (not per keystroke)."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from logomesh_studio.studio.resources import icon


class SearchField(QLineEdit):
    """QLineEdit with a search icon, a clear button and a debounced ``sig_search_changed``."""

    sig_search_changed = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None,
                 delay_ms: int = 150) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.textChanged.connect(self._on_self_text_changed)
        self._timer.timeout.connect(self._on_timer_timeout)

    def _on_self_text_changed(self, text: str) -> None:
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        self.sig_search_changed.emit(self.text())

    def set_search(self, text: str) -> None:
        """Set the text and report it at once (programmatic filtering)."""
        self.setText(text)
        self._timer.stop()
        self.sig_search_changed.emit(text)
