"""The code widget: line-number gutter, breakpoint markers, execution line, coverage.

Read-only by default (the debugger's view); :meth:`CodeView.set_editable` makes it the
editor's text (auto-indent, spaces for tabs, undo/redo, save). Clicking the gutter asks
for a breakpoint to be toggled; right-clicking it offers the breakpoint's condition, hit
condition, log message, enable/disable and removal. The view only *asks* (signals):
whoever owns the breakpoints decides and then shows them with :meth:`CodeView.set_markers`.
Coverage (lines run / not run by the tests) is a stripe at the gutter's right edge.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontDatabase,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QTextEdit, QToolTip, QWidget

from logomesh_studio.studio.widgets.python_highlighter import PythonHighlighter

_MARKER_WIDTH = 22
_BREAKPOINT = QColor("#e5484d")
_UNVERIFIED = QColor("#9aa0a6")
_EXECUTION_ARROW = QColor("#e0a800")
_COVERED = QColor("#3fa66b")
_MISSING = QColor("#e5484d")
_COVERAGE_WIDTH = 4
_INDENT = "    "


@dataclass(frozen=True)
class GutterMarker:
    """How a breakpoint on a line is drawn: a red dot; hollow when disabled, grey when it
    cannot hit (unverified), with a bar for a condition, a diamond for a logpoint."""

    enabled: bool = True
    verified: bool = True
    conditional: bool = False
    logpoint: bool = False
    tooltip: str = ""


class _Gutter(QWidget):
    """Line numbers and markers left of the text; forwards clicks to the view."""

    def __init__(self, view: CodeView) -> None:
        super().__init__(view)
        self._view = view
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to toggle a breakpoint; right-click for its condition, "
                        "hit condition, log message and more")

    def sizeHint(self) -> QSize:
        return QSize(self._view.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._view.paint_gutter(self, event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        line = self._view.line_at(event.position().y())
        if line is None:
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._view.sig_breakpoint_toggle_requested.emit(line)
        elif event.button() == Qt.MouseButton.RightButton:
            self._view.show_breakpoint_menu(line, event.globalPosition().toPoint())

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        event.accept()  # handled on mouse press, so the text's own menu never shows here

    def event(self, event: QEvent) -> bool:
        if isinstance(event, QHelpEvent) and event.type() == QEvent.Type.ToolTip:
            line = self._view.line_at(event.pos().y())
            marker = self._view.markers.get(line) if line is not None else None
            if marker is not None and marker.tooltip:
                QToolTip.showText(event.globalPos(), marker.tooltip, self)
                return True
        return super().event(event)


class CodeView(QPlainTextEdit):
    """Shows (or edits) one file, with Python colouring, a gutter and the execution line."""

    sig_breakpoint_toggle_requested = Signal(int)  # line
    sig_breakpoint_edit_requested = Signal(int, str)  # line, condition|hit_condition|log_message
    sig_breakpoint_enable_requested = Signal(int, bool)  # line, enabled
    sig_breakpoint_remove_requested = Signal(int)  # line

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path = ""
        self._mtime = 0.0
        self._markers: dict[int, GutterMarker] = {}
        self._execution_line: int | None = None
        self._execution_is_top = True
        self._covered: frozenset[int] = frozenset()
        self._missing: frozenset[int] = frozenset()
        self.set_editable(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self._gutter = _Gutter(self)
        self._highlighter = PythonHighlighter(self.document(), self._is_dark())
        self.setPlaceholderText("No file shown. Debug a plugin, or open a file from the "
                                "call stack or the breakpoints list.")
        self._wire_signals()
        self._update_margins()

    def _wire_signals(self) -> None:
        self.blockCountChanged.connect(self._on_document_block_count_changed)
        self.updateRequest.connect(self._on_view_update_requested)

    # content

    @property
    def path(self) -> str:
        """The file shown ("" for none)."""
        return self._path

    @property
    def gutter(self) -> QWidget:
        """The gutter widget (line numbers and markers)."""
        return self._gutter

    @property
    def editable(self) -> bool:
        """True when the user may type into the view (the editor), False when it only shows."""
        return not self.isReadOnly()

    def set_editable(self, editable: bool) -> None:
        """Let the user edit the text (the editor) or only select it (the debugger)."""
        self.setReadOnly(not editable)
        if not editable:
            # Keyboard selection keeps a visible cursor, so F9 knows which line is meant.
            self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse |
                                         Qt.TextInteractionFlag.TextSelectableByKeyboard)

    @property
    def modified(self) -> bool:
        """True when the text has edits that are not saved."""
        return self.document().isModified()

    def load_file(self, path: str | os.PathLike[str]) -> bool:
        """Show ``path``; returns False (and shows why) when it cannot be read."""
        try:
            text = Path(path).read_text(encoding="utf-8")
            mtime = os.path.getmtime(path)
        except (OSError, UnicodeDecodeError) as exc:
            self.set_text("", "")
            self.setPlaceholderText(f"Cannot show {path}: {exc}")
            return False
        self.set_text(text, os.fspath(path))
        self._mtime = mtime
        return True

    def save_file(self) -> None:
        """Write the text to :attr:`path` (UTF-8); raises OSError when it cannot."""
        if not self._path:
            raise OSError("the view shows no file")
        Path(self._path).write_text(self.toPlainText(), encoding="utf-8")
        self._mtime = os.path.getmtime(self._path)
        self.document().setModified(False)

    def changed_on_disk(self) -> bool:
        """True when the file's modification time differs from the one loaded or saved."""
        try:
            return bool(self._path) and os.path.getmtime(self._path) != self._mtime
        except OSError:
            return False

    def reload_if_changed(self) -> bool:
        """Show the file again if it changed on disk since it was loaded (a hot reload),
        keeping markers, execution line and scroll position. Unsaved edits are never
        replaced: a modified view stays as it is (see :meth:`reload`)."""
        if self.modified or not self.changed_on_disk():
            return False
        return self.reload()

    def reload(self) -> bool:
        """Read the file again, dropping unsaved edits, keeping markers, execution line,
        coverage, cursor line and scroll position."""
        markers, line, top = self._markers, self._execution_line, self._execution_is_top
        covered, missing = self._covered, self._missing
        scrolled = self.verticalScrollBar().value()
        cursor_line = self.cursor_line()
        if not self.load_file(self._path):
            return False
        self._markers, self._execution_line, self._execution_is_top = markers, line, top
        self._covered, self._missing = covered, missing
        self._update_highlights()
        block = self.document().findBlockByNumber(cursor_line - 1)
        if block.isValid():
            self.setTextCursor(QTextCursor(block))
        self.verticalScrollBar().setValue(scrolled)
        return True

    def set_text(self, text: str, path: str = "") -> None:
        """Show ``text`` as the content of ``path``; markers, coverage and execution line
        reset, and the undo history starts afresh."""
        self._path = path
        self._markers = {}
        self._covered = self._missing = frozenset()
        self._execution_line = None
        # Colour Python only: a manifest or README in Python colours reads as noise.
        python = not path or path.endswith((".py", ".pyi"))
        self._highlighter.setDocument(self.document() if python else None)
        self.setPlainText(text)
        self.document().setModified(False)
        self._update_highlights()

    # markers and execution line

    @property
    def markers(self) -> dict[int, GutterMarker]:
        """Breakpoint markers by line (1-based)."""
        return dict(self._markers)

    def set_markers(self, markers: dict[int, GutterMarker]) -> None:
        """Draw these breakpoint markers (line -> marker), replacing the previous ones."""
        self._markers = dict(markers)
        self._gutter.update()

    @property
    def coverage(self) -> tuple[frozenset[int], frozenset[int]]:
        """The lines shown as run and as not run by the tests (1-based)."""
        return self._covered, self._missing

    def set_coverage(self, covered: Iterable[int], missing: Iterable[int]) -> None:
        """Shade ``covered`` lines green and ``missing`` ones red in the gutter (both
        empty: no shading)."""
        self._covered, self._missing = frozenset(covered), frozenset(missing)
        self._gutter.update()

    @property
    def execution_line(self) -> int | None:
        """The highlighted line where execution stopped, if any."""
        return self._execution_line

    def set_execution_line(self, line: int | None, top: bool = True) -> None:
        """Highlight ``line`` as where execution stopped (``top``: the innermost frame,
        else a caller selected in the call stack) and scroll it into view."""
        self._execution_line = line
        self._execution_is_top = top
        self._update_highlights()
        if line is not None:
            self.go_to_line(line)
        self._gutter.update()

    def go_to_line(self, line: int) -> None:
        """Put the cursor on ``line`` and scroll it to the middle of the view."""
        block = self.document().findBlockByNumber(max(line - 1, 0))
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        self.centerCursor()

    def cursor_line(self) -> int:
        """The 1-based line the cursor is on."""
        return self.textCursor().blockNumber() + 1

    def line_at(self, y: float) -> int | None:
        """The 1-based line at viewport height ``y``, or None below the last line."""
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        while block.isValid():
            geometry = self.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > y:
                return None
            if y <= geometry.bottom():
                return block.blockNumber() + 1
            block = block.next()
        return None

    def line_top(self, line: int) -> float:
        """Viewport height of the top of ``line`` (for tests and tooltips)."""
        block = self.document().findBlockByNumber(line - 1)
        return self.blockBoundingGeometry(block).translated(self.contentOffset()).top()

    # breakpoint menu

    def show_breakpoint_menu(self, line: int, global_pos: QPoint) -> None:
        """The right-click menu of ``line``'s gutter."""
        self.breakpoint_menu(line).exec(global_pos)

    def breakpoint_menu(self, line: int) -> QMenu:
        """The actions offered for ``line``: edit an existing breakpoint, or add one."""
        menu = QMenu(self)
        marker = self._markers.get(line)
        edits = (("condition", "Condition…"), ("hit_condition", "Hit Condition…"),
                 ("log_message", "Log Message…"))
        if marker is None:
            menu.addAction("Add Breakpoint",
                           lambda: self.sig_breakpoint_toggle_requested.emit(line))
            menu.addAction("Add Conditional Breakpoint…",
                           lambda: self.sig_breakpoint_edit_requested.emit(line, "condition"))
            menu.addAction("Add Logpoint…",
                           lambda: self.sig_breakpoint_edit_requested.emit(line, "log_message"))
            return menu
        for field, title in edits:
            menu.addAction(f"Edit {title}",
                           functools.partial(self.sig_breakpoint_edit_requested.emit, line, field))
        menu.addSeparator()
        if marker.enabled:
            menu.addAction("Disable Breakpoint",
                           lambda: self.sig_breakpoint_enable_requested.emit(line, False))
        else:
            menu.addAction("Enable Breakpoint",
                           lambda: self.sig_breakpoint_enable_requested.emit(line, True))
        menu.addAction("Remove Breakpoint", lambda: self.sig_breakpoint_remove_requested.emit(line))
        return menu

    # painting

    def gutter_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return (_MARKER_WIDTH + self.fontMetrics().horizontalAdvance("9") * digits + 12 +
                _COVERAGE_WIDTH)

    def paint_gutter(self, gutter: QWidget, event: QPaintEvent) -> None:
        painter = QPainter(gutter)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.AlternateBase))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid)))
        painter.drawLine(gutter.width() - 1, event.rect().top(), gutter.width() - 1,
                         event.rect().bottom())
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        text_color = palette.color(QPalette.ColorRole.Text)
        number_font = QFont(self.font())
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        height = self.fontMetrics().height()
        while block.isValid():
            top = self.blockBoundingGeometry(block).translated(offset).top()
            if top > event.rect().bottom():
                break
            line = block.blockNumber() + 1
            if block.isVisible() and top + height >= event.rect().top():
                current = line == self._execution_line
                number_font.setBold(current)
                painter.setFont(number_font)
                painter.setPen(text_color if current else muted)
                number_width = gutter.width() - _MARKER_WIDTH - 6 - _COVERAGE_WIDTH
                painter.drawText(QRect(_MARKER_WIDTH, int(top), number_width, height),
                                 Qt.AlignmentFlag.AlignRight, str(line))
                side = min(13.0, height - 2.0)
                box = QRectF(3, top + (height - side) / 2, side, side)
                marker = self._markers.get(line)
                if marker is not None:
                    _paint_marker(painter, box, marker, palette)
                if current:
                    _paint_arrow(painter, box.translated(5 if marker else 2, 0),
                                 self._execution_is_top)
                stripe = (_MISSING if line in self._missing else
                          _COVERED if line in self._covered else None)
                if stripe is not None:
                    painter.fillRect(QRectF(gutter.width() - 1 - _COVERAGE_WIDTH, top,
                                            _COVERAGE_WIDTH, height), stripe)
            block = block.next()
        painter.end()

    # events

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.editable and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            if event.key() == Qt.Key.Key_Tab and not self.textCursor().hasSelection():
                self.insertPlainText(_INDENT)
                return
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._new_line_keeping_indent()
                return
        super().keyPressEvent(event)

    def _new_line_keeping_indent(self) -> None:
        cursor = self.textCursor()
        text = cursor.block().text()[:cursor.positionInBlock()]
        indent = text[:len(text) - len(text.lstrip())]
        if text.rstrip().endswith(":"):
            indent += _INDENT
        cursor.insertText("\n" + indent)
        self.ensureCursorVisible()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        rect = self.contentsRect()
        self._gutter.setGeometry(QRect(rect.left(), rect.top(), self.gutter_width(),
                                       rect.height()))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._highlighter.set_dark(self._is_dark())
            self._update_highlights()

    def _on_document_block_count_changed(self, _count: int) -> None:
        self._update_margins()

    def _on_view_update_requested(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def _update_margins(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _is_dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def _update_highlights(self) -> None:
        selections = []
        if self._execution_line is not None:
            block = self.document().findBlockByNumber(self._execution_line - 1)
            if block.isValid():
                selection = QTextEdit.ExtraSelection()
                dark = self._is_dark()
                if self._execution_is_top:
                    color = QColor(227, 179, 65, 70) if dark else QColor(255, 214, 92, 120)
                else:
                    color = QColor(76, 195, 138, 55) if dark else QColor(120, 200, 150, 80)
                selection.format.setBackground(color)
                selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                selection.cursor = QTextCursor(block)
                selections.append(selection)
        self.setExtraSelections(selections)


def _paint_marker(painter: QPainter, box: QRectF, marker: GutterMarker, palette: QPalette) -> None:
    color = _BREAKPOINT if marker.verified else _UNVERIFIED
    painter.setPen(QPen(color, 1.6))
    painter.setBrush(color if marker.enabled else palette.color(QPalette.ColorRole.AlternateBase))
    if marker.logpoint:
        center = box.center()
        radius = box.width() / 2
        diamond = QPainterPath()
        diamond.moveTo(center.x(), center.y() - radius)
        diamond.lineTo(center.x() + radius, center.y())
        diamond.lineTo(center.x(), center.y() + radius)
        diamond.lineTo(center.x() - radius, center.y())
        diamond.closeSubpath()
        painter.drawPath(diamond)
    else:
        painter.drawEllipse(box.adjusted(0.5, 0.5, -0.5, -0.5))
    if marker.conditional:
        bar = QColor("#ffffff") if marker.enabled else color
        painter.setPen(QPen(bar, 1.6))
        left, right = box.left() + 3.5, box.right() - 3.5
        for y in (box.center().y() - 1.8, box.center().y() + 1.8):
            painter.drawLine(QPointF(left, y), QPointF(right, y))


def _paint_arrow(painter: QPainter, box: QRectF, top: bool) -> None:
    # An outlined arrow, so it reads on top of a breakpoint dot as on the bare gutter.
    color = _EXECUTION_ARROW if top else QColor("#3fa66b")
    painter.setPen(QPen(color.darker(160), 1.2))
    painter.setBrush(color)
    arrow = QPainterPath()
    middle, left, right = box.center().y(), box.left(), box.right()
    neck = left + box.width() * 0.45
    arrow.moveTo(left, middle - 2.5)
    arrow.lineTo(neck, middle - 2.5)
    arrow.lineTo(neck, middle - 5.5)
    arrow.lineTo(right, middle)
    arrow.lineTo(neck, middle + 5.5)
    arrow.lineTo(neck, middle + 2.5)
    arrow.lineTo(left, middle + 2.5)
    arrow.closeSubpath()
    painter.drawPath(arrow)
