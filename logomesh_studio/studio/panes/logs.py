"""Logs: plugins' ``ctx.log`` records, plus load failures and manifest problems.

Filter by minimum level, plugin and text; the selected record's traceback is shown
below with clickable file locations, and double-clicking a row opens its location.
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QToolBar,
    QWidget,
)

from logomesh_studio.runtime.events import LogRecorded, ManifestInvalid, PluginFailed, ReloadFailed
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
from logomesh_studio.studio.widgets.search_field import SearchField
from logomesh_studio.studio.widgets.traceback_view import FRAME as _FRAME
from logomesh_studio.studio.widgets.traceback_view import TracebackView

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_ALL = ""


def _level_no(level: str) -> int:
    return logging.getLevelName(level) if level in logging.getLevelNamesMapping() else 0


def location(r: LogRecorded) -> tuple[str, int]:
    """Where to open ``r``: its traceback's innermost frame, else where it was logged."""
    frames = _FRAME.findall(r.traceback)
    if frames:
        path, line = frames[-1]
        return path, int(line)
    return r.path, r.line


def _location(r: LogRecorded) -> str:
    path, line = location(r)
    return f"{os.path.basename(path)}:{line}" if path else ""


def _first_line(r: LogRecorded) -> str:
    text = r.message.splitlines()[0] if r.message else ""
    return f"{text}  ⤶ traceback" if r.traceback else text


class LogTableModel(RecordTableModel[LogRecorded]):
    """Log rows; level icons, warnings and errors coloured."""

    COLUMNS: tuple[Column[LogRecorded], ...] = (
        Column("Time", lambda r: clock(r.time)),
        Column("Level", lambda r: r.level),
        Column("Plugin", lambda r: r.plugin_id),
        Column("Message", _first_line, tooltip=lambda r: r.message),
        Column("Location", _location, tooltip=lambda r: "{}:{}".format(*location(r))),
    )

    def __init__(self, capacity: int = 20_000, parent=None) -> None:
        super().__init__(self.COLUMNS, capacity, parent)

    def record_data(self, record: LogRecorded, column: int, role: int) -> Any:
        level = _level_no(record.level)
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            name = ("error" if level >= logging.ERROR else "warning" if level >= logging.WARNING
                    else "info" if level >= logging.INFO else "debug")
            return icon(f"level-{name}")
        if role == Qt.ItemDataRole.ForegroundRole:
            if level >= logging.ERROR:
                return QBrush(theme.color("error"))
            if level >= logging.WARNING:
                return QBrush(theme.color("warning"))
            if level < logging.INFO or column == 4:
                return QBrush(theme.color("muted"))
        return None


@dataclass(frozen=True)
class LogFilter:
    """Minimum level, plugin and free text."""

    level: int = 0
    plugin: str = _ALL
    text: str = ""

    def is_empty(self) -> bool:
        return not (self.level or self.plugin or self.text)

    def __call__(self, r: LogRecorded) -> bool:
        if self.level and _level_no(r.level) < self.level:
            return False
        if self.plugin and r.plugin_id != self.plugin:
            return False
        if self.text:
            needle = self.text.lower()
            return needle in r.message.lower() or needle in r.traceback.lower() or \
                needle in r.plugin_id.lower()
        return True


def as_log(event: PluginFailed | ManifestInvalid | ReloadFailed) -> LogRecorded:
    """A load failure, manifest problem or failed reload as an ERROR log record."""
    if isinstance(event, ManifestInvalid):
        return LogRecorded(plugin_id=os.path.basename(os.path.dirname(event.path)) or "manifest",
                           level="ERROR", message=f"{event.path}: {event.field}: {event.reason}",
                           path=event.path, time=event.time)
    what = "reload failed" if isinstance(event, ReloadFailed) else "failed"
    return LogRecorded(plugin_id=event.plugin_id, level="ERROR",
                       message=f"{what} at {event.stage}: {event.error}", path=event.path,
                       line=event.line, traceback=event.traceback, time=event.time)


class LogsPane(QWidget):
    """Log records of every plugin with level/plugin/text filters and tracebacks."""

    sig_open_file_requested = Signal(str, int)

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logs_pane")
        self.client = client
        self.model = LogTableModel(parent=self)
        self._build()
        self._wire_signals()

    def _build(self) -> None:
        self.action_clear = make_action(self, "Clear Logs", "clear", "Clear the log view",
                                        "Ctrl+Shift+L", name="action_clear_logs",
                                        context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.action_clear)
        toolbar = QToolBar("Logs", self)
        toolbar.setObjectName("logs_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        toolbar.addAction(self.action_clear)
        self.level_combo = QComboBox(self)
        self.level_combo.setObjectName("log_level_filter")
        self.level_combo.setToolTip("Show records at this level and above")
        for level in LEVELS:
            self.level_combo.addItem(icon(f"level-{level.lower()}"), f"{level.title()}+",
                                     _level_no(level))
        self.plugin_combo = QComboBox(self)
        self.plugin_combo.setObjectName("log_plugin_filter")
        self.plugin_combo.setToolTip("Show records of this plugin")
        self.plugin_combo.addItem("All plugins", _ALL)
        self.plugin_combo.setMinimumContentsLength(12)
        self.search = SearchField("Search messages and tracebacks…", self)
        self.search.setObjectName("log_search")
        self.search.setToolTip("Free-text search in messages, tracebacks and plugin ids")
        toolbar.addWidget(self.level_combo)
        toolbar.addWidget(self.plugin_combo)
        toolbar.addWidget(self.search)
        self.count_label = QLabel(self)
        self.count_label.setContentsMargins(8, 0, 4, 0)
        toolbar.addWidget(self.count_label)

        self.table = RecordTableView("log_table", self.model, (96, 84, 100, 400, 130),
                                     stretch=3, parent=self)

        self.details = TracebackView(self)
        self.details.setObjectName("log_details")
        self.splitter = lay_out_with_details(self, toolbar, self.table, self.details,
                                             "logs_splitter")
        self._update_count()

    def _wire_signals(self) -> None:
        self.client.sig_logs_recorded.connect(self._on_client_logs_recorded)
        self.client.sig_plugin_failed.connect(self._on_client_problem)
        self.client.sig_manifest_invalid.connect(self._on_client_problem)
        self.client.sig_reload_failed.connect(self._on_client_problem)
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.action_clear.triggered.connect(self._on_clear_triggered)
        self.level_combo.currentIndexChanged.connect(self._on_filter_widget_changed)
        self.plugin_combo.currentIndexChanged.connect(self._on_filter_widget_changed)
        self.search.sig_search_changed.connect(self._on_filter_widget_changed)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.details.sig_open_file_requested.connect(self.sig_open_file_requested)

    def current_filter(self) -> LogFilter:
        return LogFilter(level=self.level_combo.currentData() or 0,
                         plugin=self.plugin_combo.currentData() or _ALL,
                         text=self.search.text().strip())

    def _on_filter_widget_changed(self, *args: object) -> None:
        current = self.current_filter()
        self.model.set_filter(None if current.is_empty() else current)
        self.table.scrollToBottom()
        self._update_count()

    def _append(self, records: list[LogRecorded]) -> None:
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.append(records)
        for pid in {r.plugin_id for r in records}:
            if self.plugin_combo.findData(pid) < 0:
                self.plugin_combo.addItem(pid, pid)
        if at_bottom:
            self.table.scrollToBottom()
        self._update_count()

    def _on_client_logs_recorded(self, batch: list[LogRecorded]) -> None:
        self._append(batch)

    def _on_client_problem(self, event: PluginFailed | ManifestInvalid | ReloadFailed) -> None:
        self._append([as_log(event)])

    def _on_client_plugins_listed(self, infos: list) -> None:
        for info in infos:
            if self.plugin_combo.findData(info.id) < 0:
                self.plugin_combo.addItem(info.id, info.id)

    def _on_client_workspace_opened(self, workspace: str) -> None:
        self.model.clear()
        self.details.clear()
        self._update_count()

    def _on_clear_triggered(self) -> None:
        self.model.clear()
        self.details.clear()
        self._update_count()

    def _on_table_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.clear()
            return
        r = self.model.record(current.row())
        path, line = location(r)
        self.details.show_error(f"{r.level} · {r.plugin_id} · {clock(r.time)}", "",
                                r.traceback, path, line, details=_escape(r.message))

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        path, line = location(self.model.record(index.row()))
        if path:
            self.sig_open_file_requested.emit(path, line)

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        self.count_label.setText(f"{shown:,} of {total:,}" if shown != total else
                                 f"{total:,} records")


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")
