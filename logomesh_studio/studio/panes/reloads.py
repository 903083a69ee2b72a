"""Reload history: every hot reload and failure with its timing split.

Each row starts when a reload starts and is completed in place by its outcome; the
split column draws detect/debounce/copy/unload/import/init/restore as one stacked bar.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import (
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolBar,
    QWidget,
)

from logomesh_studio.runtime.events import ReloadCompleted, ReloadFailed, ReloadStarted
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.formatting import clock
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.record_table import (
    Column,
    RecordTableModel,
    RecordTableView,
    lay_out_with_details,
)
from logomesh_studio.studio.widgets.traceback_view import TracebackView

PHASES = ("detect", "debounce", "copy", "unload", "import", "init", "restore")
PHASE_COLORS = ("#8a9099", "#b0b6bf", "#d0658a", "#e0a020", "#3b82d6", "#2e9d57", "#8250df")
RELOADING, OK, FAILED = "reloading", "ok", "failed"
_ids = itertools.count(1)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True)
class ReloadEntry:
    """One reload as the history shows it (plain data, built from reload events)."""

    plugin_id: str
    time: float
    outcome: str = RELOADING
    cause: str = ""
    version: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    stage: str = ""
    error: str = ""
    traceback: str = ""
    path: str = ""
    line: int = 0
    id: int = field(default_factory=lambda: next(_ids))


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f} ms"


def _cause(e: ReloadEntry) -> str:
    return os.path.basename(e.cause) if os.path.isabs(e.cause) else e.cause


def _split_tip(e: ReloadEntry) -> str:
    return "\n".join(f"{p}: {_ms(e.timings[p])}" for p in PHASES if p in e.timings)


class ReloadTableModel(RecordTableModel[ReloadEntry]):
    """Reload rows; failures red, in-flight reloads amber."""

    COLUMNS: tuple[Column[ReloadEntry], ...] = (
        Column("Time", lambda e: clock(e.time)),
        Column("Plugin", lambda e: e.plugin_id),
        Column("Result", lambda e: e.outcome if e.outcome != FAILED else f"failed ({e.stage})"),
        Column("Version", lambda e: e.version),
        Column("Total", lambda e: _ms(e.timings.get("total")), _RIGHT),
        Column("Split", lambda e: "", tooltip=_split_tip),
        Column("Cause / error", lambda e: e.error or _cause(e),
               tooltip=lambda e: e.error or e.cause),
    )
    SPLIT = 5

    def __init__(self, capacity: int = 2_000, parent=None) -> None:
        super().__init__(self.COLUMNS, capacity, parent)

    def record_data(self, record: ReloadEntry, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DecorationRole and column == 2:
            return icon({OK: "status-running", FAILED: "status-reload-failed"}.get(
                record.outcome, "status-reloading"))
        if role == Qt.ItemDataRole.ForegroundRole:
            if record.outcome == FAILED:
                return QBrush(theme.color("error"))
            if record.outcome == RELOADING:
                return QBrush(theme.color("warning"))
        if role == Qt.ItemDataRole.UserRole:
            return record
        return None


class TimingSplitDelegate(QStyledItemDelegate):
    """Draws a reload's phases as a stacked horizontal bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        entry: ReloadEntry | None = index.data(Qt.ItemDataRole.UserRole)
        if entry is None or not entry.timings:
            return
        parts = [(entry.timings.get(p, 0.0), c) for p, c in zip(PHASES, PHASE_COLORS,
                                                                 strict=True)]
        total = sum(v for v, _ in parts)
        if total <= 0:
            return
        rect = option.rect.adjusted(4, 5, -4, -5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        x = float(rect.left())
        for value, color in parts:
            width = rect.width() * value / total
            if width > 0:
                painter.fillRect(QRect(round(x), rect.top(), max(1, round(width)),
                                       rect.height()), QColor(color))
            x += width
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(140, super().sizeHint(option, index).height())


class ReloadsPane(QWidget):
    """Reload history table plus the selected reload's timing or error."""

    sig_open_file_requested = Signal(str, int)
    sig_plugin_selected = Signal(str)

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reloads_pane")
        self.client = client
        self.model = ReloadTableModel(parent=self)
        self._build()
        self._wire_signals()

    def _build(self) -> None:
        self.action_clear = make_action(self, "Clear Reload History", "clear",
                                        "Clear the reload history", "Ctrl+Shift+H",
                                        name="action_clear_reloads",
                                        context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.action_clear)
        toolbar = QToolBar("Reloads", self)
        toolbar.setObjectName("reloads_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        toolbar.addAction(self.action_clear)
        legend = " ".join(f'<span style="color:{c}">■</span> {p}'
                          for p, c in zip(PHASES, PHASE_COLORS, strict=True))
        self.legend = QLabel(legend, self)
        self.legend.setContentsMargins(8, 0, 0, 0)
        toolbar.addWidget(self.legend)

        self.table = RecordTableView("reload_table", self.model, (96, 100, 130, 70, 74, 150),
                                     parent=self)
        self.table.setItemDelegateForColumn(ReloadTableModel.SPLIT, TimingSplitDelegate(self))
        self.details = TracebackView(self)
        self.details.setObjectName("reload_details")
        self.splitter = lay_out_with_details(self, toolbar, self.table, self.details,
                                             "reloads_splitter")

    def _wire_signals(self) -> None:
        self.client.sig_reload_started.connect(self._on_client_reload_started)
        self.client.sig_reload_completed.connect(self._on_client_reload_completed)
        self.client.sig_reload_failed.connect(self._on_client_reload_failed)
        self.action_clear.triggered.connect(self._on_clear_triggered)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.details.sig_open_file_requested.connect(self.sig_open_file_requested)

    # -- client events ----------------------------------------------------------------------

    def _pending(self, plugin_id: str) -> ReloadEntry | None:
        for entry in reversed(self.model.records):
            if entry.plugin_id == plugin_id and entry.outcome == RELOADING:
                return entry
        return None

    def _finish(self, plugin_id: str, **changes: Any) -> None:
        pending = self._pending(plugin_id)
        if pending is None:
            self.model.append([ReloadEntry(plugin_id=plugin_id, **changes)])
        else:
            changes.pop("time", None)
            self.model.update_where(lambda e: e.id == pending.id,
                                    lambda e: dataclasses.replace(e, **changes))
        self.table.scrollToBottom()
        self._show_entry(self.table.currentIndex())

    def _on_client_reload_started(self, event: ReloadStarted) -> None:
        pending = self._pending(event.plugin_id)
        if pending is not None:  # deferred while its files were being written: retried now
            self.model.update_where(lambda e: e.id == pending.id, lambda e: dataclasses.replace(
                e, time=event.time, cause=event.cause))
            return
        self.model.append([ReloadEntry(plugin_id=event.plugin_id, time=event.time,
                                       cause=event.cause)])
        self.table.scrollToBottom()

    def _on_client_reload_completed(self, event: ReloadCompleted) -> None:
        self._finish(event.plugin_id, time=event.time, outcome=OK, version=event.version,
                     cause=event.cause, timings=dict(event.timings))

    def _on_client_reload_failed(self, event: ReloadFailed) -> None:
        self._finish(event.plugin_id, time=event.time, outcome=FAILED, stage=event.stage,
                     error=event.error, traceback=event.traceback, path=event.path,
                     line=event.line, cause=event.cause)

    def _on_clear_triggered(self) -> None:
        self.model.clear()
        self.details.clear()

    # -- selection --------------------------------------------------------------------------

    def _on_table_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._show_entry(current)
        if current.isValid():
            self.sig_plugin_selected.emit(self.model.record(current.row()).plugin_id)

    def _show_entry(self, current: QModelIndex) -> None:
        if not current.isValid():
            self.details.clear()
            return
        e = self.model.record(current.row())
        title = f"{e.plugin_id} · {e.outcome} · {clock(e.time)}"
        if e.outcome == FAILED:
            self.details.show_error(title, f"failed at {e.stage}: {e.error}", e.traceback,
                                    e.path, e.line, html.escape(e.cause))
            return
        rows = "".join(f"<tr><td>{p}</td><td align='right'>{_ms(e.timings.get(p))}</td></tr>"
                       for p in (*PHASES, "total") if p in e.timings)
        self.details.show_error(title, details=f"{html.escape(e.cause)}<table>{rows}</table>")

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        e = self.model.record(index.row())
        if e.path:
            self.sig_open_file_requested.emit(e.path, e.line)
