"""Message inspector: the bridge's traffic as a live, filterable table.

Selecting a message shows its payload and response as JSON trees; "Send as..."
composes a message from a chosen plugin (its permissions apply) and "Replay"
sends a recorded one again.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.runtime.events import MessageRecorded
from logomesh_studio.studio import theme
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.panes.send_dialog import SendDialog
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.json_tree import JsonTreeView
from logomesh_studio.studio.widgets.record_table import Column, RecordTableModel, RecordTableView
from logomesh_studio.studio.widgets.search_field import SearchField

OUTCOMES = ("ok", "error", "refused", "timeout", "cancelled", "not_found", "no_handler",
            "invalid")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ALL = ""


def clock(t: float) -> str:
    """``HH:MM:SS.mmm`` local time."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def human_duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _outcome_color(outcome: str) -> str:
    return {"ok": "ok", "refused": "refused", "timeout": "timeout"}.get(outcome, "error")


class MessageTableModel(RecordTableModel[MessageRecorded]):
    """Bridge history rows; the outcome column is coloured."""

    COLUMNS: tuple[Column[MessageRecorded], ...] = (
        Column("Time", lambda m: clock(m.time)),
        Column("Source", lambda m: m.source),
        Column("Target", lambda m: m.target),
        Column("Type", lambda m: m.type),
        Column("Size", lambda m: human_size(m.size), _RIGHT),
        Column("Duration", lambda m: human_duration(m.duration), _RIGHT),
        Column("Outcome", lambda m: m.outcome, tooltip=lambda m: m.error or m.outcome),
    )
    OUTCOME = 6

    def __init__(self, capacity: int = 10_000, parent=None) -> None:
        super().__init__(self.COLUMNS, capacity, parent)

    def record_data(self, record: MessageRecorded, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and (
                column == self.OUTCOME or record.outcome != "ok"):
            return QBrush(theme.color(_outcome_color(record.outcome)))
        if role == Qt.ItemDataRole.ToolTipRole and record.error:
            return record.error
        return None


@dataclass(frozen=True)
class MessageFilter:
    """What the inspector shows: by plugin (either end), type, outcome and free text."""

    plugin: str = _ALL
    type: str = _ALL
    outcome: str = _ALL
    text: str = ""

    def is_empty(self) -> bool:
        return not (self.plugin or self.type or self.outcome or self.text)

    def __call__(self, m: MessageRecorded) -> bool:
        if self.plugin and self.plugin not in (m.source, m.target):
            return False
        if self.type and m.type != self.type:
            return False
        if self.outcome and m.outcome != self.outcome:
            return False
        if self.text:
            needle = self.text.lower()
            return any(needle in s.lower() for s in (m.source, m.target, m.type, m.payload,
                                                      m.response, m.error))
        return True


class MessagesPane(QWidget):
    """Live bridge history with filters, payload/response trees, send-as and replay."""

    sig_filter_changed = Signal(object)  # MessageFilter
    sig_capture_paused = Signal(bool)

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messages_pane")
        self.client = client
        self.model = MessageTableModel(parent=self)
        self.paused = False
        self.skipped = 0
        self._types: set[str] = set()
        self._plugins: list[str] = []
        self._dialog: SendDialog | None = None
        self._build()
        self._wire_signals()

    # -- construction -----------------------------------------------------------------------

    def _build(self) -> None:
        self.action_pause = QAction(icon("pause"), "Pause Capture", self)
        self.action_pause.setObjectName("action_pause_capture")
        self.action_pause.setCheckable(True)
        self.action_pause.setShortcut(QKeySequence("F8"))
        self.action_pause.setToolTip("Pause capture: new messages are not added (F8)")
        self.action_clear = QAction(icon("clear"), "Clear Messages", self)
        self.action_clear.setObjectName("action_clear_messages")
        self.action_clear.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.action_clear.setToolTip("Clear the message history (Ctrl+Shift+K)")
        self.action_send = QAction(icon("send"), "Send As…", self)
        self.action_send.setObjectName("action_send_as")
        self.action_send.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.action_send.setToolTip("Compose a message from a plugin, with its permissions "
                                    "(Ctrl+Shift+M)")
        self.action_replay = QAction(icon("replay"), "Replay", self)
        self.action_replay.setObjectName("action_replay")
        self.action_replay.setShortcut(QKeySequence("Ctrl+R"))
        self.action_replay.setToolTip("Send the selected message again, from the same source "
                                      "(Ctrl+R)")
        self.action_replay.setEnabled(False)
        self.action_edit_resend = QAction(icon("send"), "Edit and Resend…", self)
        self.action_edit_resend.setObjectName("action_edit_resend")
        self.action_edit_resend.setToolTip("Open the selected message in the composer")
        self.action_edit_resend.setEnabled(False)
        self.action_copy_payload = QAction(icon("copy"), "Copy Payload", self)
        self.action_copy_payload.setObjectName("action_copy_payload")
        self.action_copy_payload.setToolTip("Copy the selected message's payload as JSON")
        self.action_copy_payload.setEnabled(False)
        for action in (self.action_pause, self.action_clear, self.action_send,
                       self.action_replay):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

        toolbar = QToolBar("Messages", self)
        toolbar.setObjectName("messages_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        toolbar.addAction(self.action_pause)
        toolbar.addAction(self.action_clear)
        toolbar.addSeparator()
        toolbar.addAction(self.action_send)
        toolbar.addAction(self.action_replay)
        toolbar.addSeparator()
        self.plugin_combo = QComboBox(self)
        self.plugin_combo.setObjectName("message_plugin_filter")
        self.plugin_combo.setToolTip("Show messages sent or received by this plugin")
        self.plugin_combo.addItem("All plugins", _ALL)
        self.plugin_combo.setMinimumContentsLength(12)
        self.type_combo = QComboBox(self)
        self.type_combo.setObjectName("message_type_filter")
        self.type_combo.setToolTip("Show messages of this type")
        self.type_combo.addItem("All types", _ALL)
        self.type_combo.setMinimumContentsLength(10)
        self.outcome_combo = QComboBox(self)
        self.outcome_combo.setObjectName("message_outcome_filter")
        self.outcome_combo.setToolTip("Show messages with this outcome")
        self.outcome_combo.addItem("All outcomes", _ALL)
        for outcome in OUTCOMES:
            self.outcome_combo.addItem(outcome, outcome)
        self.search = SearchField("Search source, target, type, payload…", self)
        self.search.setObjectName("message_search")
        self.search.setToolTip("Free-text search in source, target, type, payload, response "
                               "and error")
        for widget in (self.plugin_combo, self.type_combo, self.outcome_combo):
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            toolbar.addWidget(widget)
        toolbar.addWidget(self.search)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("message_count")
        self.count_label.setContentsMargins(8, 0, 4, 0)
        toolbar.addWidget(self.count_label)

        self.table = RecordTableView("message_table", self.model, (96, 110, 110, 140, 70, 80, 90),
                                     stretch=3, parent=self)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        self.detail_title = QLabel("Select a message to see its payload and response", self)
        self.detail_title.setObjectName("message_detail_title")
        self.detail_title.setWordWrap(True)
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.payload_view = JsonTreeView(self)
        self.payload_view.setObjectName("payload_tree")
        self.response_view = JsonTreeView(self)
        self.response_view.setObjectName("response_tree")
        trees = QSplitter(Qt.Orientation.Horizontal, self)
        for title, view in (("Payload", self.payload_view), ("Response", self.response_view)):
            box = QWidget(trees)
            layout = QVBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.setSpacing(2)
            label = QLabel(f"<b>{title}</b>", box)
            label.setObjectName("section_label")
            layout.addWidget(label)
            layout.addWidget(view)
            trees.addWidget(box)
        details = QWidget(self)
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(6, 4, 6, 4)
        details_layout.addWidget(self.detail_title)
        details_layout.addWidget(trees)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("messages_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(toolbar)
        layout.addLayout(bar)
        layout.addWidget(self.splitter)
        self._update_count()

    def _wire_signals(self) -> None:
        self.client.sig_messages_recorded.connect(self._on_client_messages_recorded)
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.action_pause.toggled.connect(self._on_pause_toggled)
        self.action_clear.triggered.connect(self._on_clear_triggered)
        self.action_send.triggered.connect(self._on_send_triggered)
        self.action_replay.triggered.connect(self._on_replay_triggered)
        self.action_edit_resend.triggered.connect(self._on_edit_resend_triggered)
        self.action_copy_payload.triggered.connect(self._on_copy_payload_triggered)
        self.plugin_combo.currentIndexChanged.connect(self._on_filter_widget_changed)
        self.type_combo.currentIndexChanged.connect(self._on_filter_widget_changed)
        self.outcome_combo.currentIndexChanged.connect(self._on_filter_widget_changed)
        self.search.sig_search_changed.connect(self._on_filter_widget_changed)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu)
        self.model.modelReset.connect(self._on_model_reset)

    # -- filters ----------------------------------------------------------------------------

    def current_filter(self) -> MessageFilter:
        return MessageFilter(plugin=self.plugin_combo.currentData() or _ALL,
                             type=self.type_combo.currentData() or _ALL,
                             outcome=self.outcome_combo.currentData() or _ALL,
                             text=self.search.text().strip())

    def set_filter(self, plugin: str = _ALL, type: str = _ALL, outcome: str = _ALL,
                   text: str = "") -> None:
        """Set every filter at once (``show messages`` from the plugin tree)."""
        widgets = ((self.plugin_combo, plugin), (self.type_combo, type),
                   (self.outcome_combo, outcome))
        for combo, value in widgets:
            combo.blockSignals(True)
            if value and combo.findData(value) < 0:
                combo.addItem(value, value)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(False)
        self._apply_filter()

    def _apply_filter(self) -> None:
        current = self.current_filter()
        self.model.set_filter(None if current.is_empty() else current)
        self.table.scrollToBottom()
        self._update_count()
        self.sig_filter_changed.emit(current)

    def _on_filter_widget_changed(self, *args: object) -> None:
        self._apply_filter()

    def _add_combo_items(self, combo: QComboBox, values: list[str]) -> None:
        for value in values:
            if combo.findData(value) < 0:
                combo.addItem(value, value)

    # -- client events ----------------------------------------------------------------------

    def _on_client_messages_recorded(self, batch: list[MessageRecorded]) -> None:
        if self.paused:
            self.skipped += len(batch)
            self._update_count()
            return
        new_types = {m.type for m in batch} - self._types
        if new_types:
            self._types |= new_types
            self._add_combo_items(self.type_combo, sorted(new_types))
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.append(batch)
        if at_bottom:
            self.table.scrollToBottom()
        self._update_count()

    def _on_client_plugins_listed(self, infos: list) -> None:
        self._plugins = [info.id for info in infos]
        self._add_combo_items(self.plugin_combo, self._plugins)

    def _on_client_workspace_opened(self, workspace: str) -> None:
        self.set_filter()  # the old workspace's plugin/type filters mean nothing here
        for combo in (self.plugin_combo, self.type_combo):
            combo.blockSignals(True)
            while combo.count() > 1:  # keep "All ..."
                combo.removeItem(1)
            combo.blockSignals(False)
        self.model.clear()
        self._types.clear()
        self.skipped = 0
        self._update_count()

    # -- actions ----------------------------------------------------------------------------

    def _on_pause_toggled(self, paused: bool) -> None:
        self.paused = paused
        self.action_pause.setIcon(icon("start" if paused else "pause"))
        self.action_pause.setText("Resume Capture" if paused else "Pause Capture")
        self.action_pause.setToolTip("Resume capture (F8)" if paused else
                                     "Pause capture: new messages are not added (F8)")
        if not paused:
            self.skipped = 0
        self._update_count()
        self.sig_capture_paused.emit(paused)

    def _on_clear_triggered(self) -> None:
        self.model.clear()
        self.skipped = 0
        self._update_count()
        if self.client.state == "running":
            self.client.spawn(self.client.call("clear_history"), "clear history")

    def _on_send_triggered(self) -> None:
        self.open_composer()

    def _on_edit_resend_triggered(self) -> None:
        record = self.selected_record()
        if record is not None:
            self.open_composer(record)

    def _on_replay_triggered(self) -> None:
        record = self.selected_record()
        if record is not None:
            self.replay(record)

    def _on_copy_payload_triggered(self) -> None:
        record = self.selected_record()
        if record is not None:
            QGuiApplication.clipboard().setText(record.payload)

    def open_composer(self, record: MessageRecorded | None = None) -> SendDialog:
        """Show the "send as" composer, prefilled from ``record`` if given."""
        if self._dialog is None:
            self._dialog = SendDialog(self.client, self)
        self._dialog.set_plugins(self.client.plugin_infos)
        if record is not None:
            self._dialog.prefill(record.source, record.target, record.type, record.payload)
        self._dialog.show()
        self._dialog.raise_()
        self._dialog.activateWindow()
        return self._dialog

    def replay(self, record: MessageRecorded) -> None:
        """Make the recorded call again, as the same kind of call (send, broadcast,
        capability request) from the same source, whose permissions apply again."""
        self.client.spawn(self.client.call("replay", record=record),
                          f"replay {record.type} to {record.target}")

    # -- selection --------------------------------------------------------------------------

    def selected_record(self) -> MessageRecorded | None:
        index = self.table.currentIndex()
        return self.model.record(index.row()) if index.isValid() else None

    def _on_table_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        record = self.model.record(current.row()) if current.isValid() else None
        for action in (self.action_replay, self.action_edit_resend, self.action_copy_payload):
            action.setEnabled(record is not None)
        self.show_record(record)

    def _on_model_reset(self) -> None:
        self._on_table_current_changed(QModelIndex(), QModelIndex())

    def show_record(self, record: MessageRecorded | None) -> None:
        if record is None:
            self.detail_title.setText("Select a message to see its payload and response")
            self.payload_view.set_json("")
            self.response_view.set_json("")
            return
        color = theme.color(_outcome_color(record.outcome)).name()
        e = html.escape  # plugin-chosen names and errors are text, not markup
        title = (f"<b>#{record.id}</b> {record.call} <b>{e(record.source)}</b> → "
                 f"<b>{e(record.target)}</b> <code>{e(record.type)}</code> · "
                 f'<span style="color:{color}">{record.outcome}</span> in '
                 f"{human_duration(record.duration)}")
        if record.error:
            title += f'<br><span style="color:{color}">{e(record.error)}</span>'
        self.detail_title.setText(title)
        self.payload_view.set_json(record.payload, "payload")
        self.response_view.set_json(record.response, "response")

    def _on_table_context_menu(self, pos: QPoint) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        for action in (self.action_replay, self.action_edit_resend, self.action_copy_payload):
            menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        text = f"{shown:,} of {total:,}" if shown != total else f"{total:,} messages"
        if self.paused:
            text += f" · paused, {self.skipped:,} skipped"
        self.count_label.setText(text)
