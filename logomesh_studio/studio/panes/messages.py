"""Message inspector: the bridge's traffic as a live, filterable table.

Selecting a message shows its payload and response as JSON trees; "Send as..."
composes a message (from Studio itself, which may message any plugin, or from a
chosen plugin, whose permissions apply) and "Replay" sends a recorded one again.
While nothing has been sent, the table says how to make traffic.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMenu,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.runtime.events import MessageRecorded
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import add_actions, make_action
from logomesh_studio.studio.client import ClientState, RuntimeClient
from logomesh_studio.studio.formatting import human_duration
from logomesh_studio.studio.panes.message_model import (
    ALL,
    OUTCOMES,
    MessageFilter,
    MessageTableModel,
    outcome_color,
)
from logomesh_studio.studio.panes.send_dialog import SendDialog
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.json_tree import JsonTreeView
from logomesh_studio.studio.widgets.record_table import RecordTableView
from logomesh_studio.studio.widgets.search_field import SearchField

__all__ = ["MessageFilter", "MessageTableModel", "MessagesPane"]

EMPTY_HINT = (
    "<p><b>No messages yet.</b></p>"
    '<p><a href="send">Send As…</a> (Ctrl+Shift+M) sends one as Studio, which may call any '
    "plugin, or right-click a plugin in the Plugins pane: <i>Send Message…</i></p>"
    "<p>Messages your plugins send each other, and those of an orchestration run, "
    "appear here as they happen.</p>")
NO_MATCH_HINT = "<p>No message matches the filters.</p>"
_SELECT_HINT = "Select a message to see its payload and response"


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
        self.extra_context_actions: list[QAction] = []
        """Actions other modules add to the table's context menu (Generate Tests)."""
        self._build()
        self._wire_signals()

    # -- construction -----------------------------------------------------------------------

    def _action(self, name: str, text: str, icon_name: str, tip: str,
                shortcut: str = "") -> QAction:
        return make_action(self, text, icon_name, tip, shortcut, name=name,
                           context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _build(self) -> None:
        self._build_actions()
        toolbar = self._build_toolbar()
        self.table = RecordTableView("message_table", self.model, (96, 110, 110, 140, 70, 80, 90),
                                     stretch=3, parent=self)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.placeholder = self._build_placeholder()
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("messages_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self._build_details())
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(toolbar)
        layout.addWidget(self.splitter)
        self._update_count()

    def _build_actions(self) -> None:
        self.action_pause = self._action("action_pause_capture", "Pause Capture", "pause",
                                         "Pause capture: new messages are not added", "F8")
        self.action_pause.setCheckable(True)
        self.action_clear = self._action("action_clear_messages", "Clear Messages", "clear",
                                         "Clear the message history", "Ctrl+Shift+K")
        self.action_send = self._action("action_send_as", "Send As…", "send",
                                        "Compose a message, as Studio (may call any plugin) or "
                                        "as a plugin (its permissions apply)", "Ctrl+Shift+M")
        self.action_replay = self._action("action_replay", "Replay", "replay",
                                          "Send the selected message again, from the same "
                                          "source", "Ctrl+R")
        self.action_edit_resend = self._action("action_edit_resend", "Edit and Resend…", "send",
                                               "Open the selected message in the composer")
        self.action_copy_payload = self._action("action_copy_payload", "Copy Payload", "copy",
                                                "Copy the selected message's payload as JSON")
        for action in (self.action_replay, self.action_edit_resend, self.action_copy_payload):
            action.setEnabled(False)
        for action in (self.action_pause, self.action_clear, self.action_send,
                       self.action_replay):
            self.addAction(action)

    def _build_toolbar(self) -> QToolBar:
        toolbar = QToolBar("Messages", self)
        toolbar.setObjectName("messages_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        add_actions(toolbar, (self.action_pause, self.action_clear, None, self.action_send,
                              self.action_replay, None))
        self.plugin_combo = self._filter_combo("message_plugin_filter", "All plugins",
                                               "Show messages sent or received by this plugin", 12)
        self.type_combo = self._filter_combo("message_type_filter", "All types",
                                             "Show messages of this type", 10)
        self.outcome_combo = self._filter_combo("message_outcome_filter", "All outcomes",
                                                "Show messages with this outcome", 0)
        for outcome in OUTCOMES:
            self.outcome_combo.addItem(outcome, outcome)
        self.search = SearchField("Search source, target, type, payload…", self)
        self.search.setObjectName("message_search")
        self.search.setToolTip("Free-text search in source, target, type, payload, response "
                               "and error")
        for widget in (self.plugin_combo, self.type_combo, self.outcome_combo, self.search):
            toolbar.addWidget(widget)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("message_count")
        self.count_label.setContentsMargins(8, 0, 4, 0)
        toolbar.addWidget(self.count_label)
        return toolbar

    def _filter_combo(self, name: str, all_text: str, tip: str, min_chars: int) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setToolTip(tip)
        combo.addItem(all_text, ALL)
        if min_chars:
            combo.setMinimumContentsLength(min_chars)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        return combo

    def _build_placeholder(self) -> QLabel:
        """How to make traffic, over the empty table (gone with the first message)."""
        label = QLabel(EMPTY_HINT, self.table.viewport())
        label.setObjectName("messages_placeholder")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse |
                                      Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        label.setContentsMargins(24, 12, 24, 12)
        self.table.viewport().installEventFilter(self)
        return label

    def _build_details(self) -> QWidget:
        self.detail_title = QLabel(_SELECT_HINT, self)
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
        return details

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
        self.placeholder.linkActivated.connect(self._on_placeholder_link_activated)

    # -- filters ----------------------------------------------------------------------------

    def current_filter(self) -> MessageFilter:
        return MessageFilter(plugin=self.plugin_combo.currentData() or ALL,
                             type=self.type_combo.currentData() or ALL,
                             outcome=self.outcome_combo.currentData() or ALL,
                             text=self.search.text().strip())

    def set_filter(self, plugin: str = ALL, type: str = ALL, outcome: str = ALL,
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
        if self.client.state == ClientState.RUNNING:
            self.client.spawn(self.client.clear_history(), "clear history")

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

    def open_composer(self, record: MessageRecorded | None = None,
                      target: str | None = None) -> SendDialog:
        """Show the "send as" composer, prefilled from ``record`` if given, else addressed
        to ``target`` (its handled types listed) if given."""
        if self._dialog is None:
            self._dialog = SendDialog(self.client, self)
        self._dialog.set_plugins(self.client.plugin_infos)
        if record is not None:
            self._dialog.prefill(record.source, record.target, record.type, record.payload)
        elif target is not None:
            self._dialog.set_target(target)
        self._dialog.show()
        self._dialog.raise_()
        self._dialog.activateWindow()
        return self._dialog

    def replay(self, record: MessageRecorded) -> None:
        """Make the recorded call again, as the same kind of call (send, broadcast,
        capability request) from the same source, whose permissions apply again."""
        self.client.spawn(self.client.replay(record),
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
            self.detail_title.setText(_SELECT_HINT)
            self.payload_view.set_json("")
            self.response_view.set_json("")
            return
        color = theme.color(outcome_color(record.outcome)).name()
        e = html.escape  # plugin-chosen names and errors are text, not markup
        title = (f"<b>#{record.id}</b> {record.call} <b>{e(self.model.sender_name(record.source))}</b> → "
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
        if self.extra_context_actions:
            menu.addSeparator()
            menu.addActions(self.extra_context_actions)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        text = f"{shown:,} of {total:,}" if shown != total else f"{total:,} messages"
        if self.paused:
            text += f" · paused, {self.skipped:,} skipped"
        self.count_label.setText(text)
        self._update_placeholder()

    # -- placeholder ------------------------------------------------------------------------

    def _update_placeholder(self) -> None:
        empty = self.model.rowCount() == 0
        if empty:
            quiet = self.model.total == 0 and not self.skipped
            self.placeholder.setText(EMPTY_HINT if quiet else NO_MATCH_HINT)
            self._place_placeholder()
        self.placeholder.setVisible(empty)

    def _place_placeholder(self) -> None:
        viewport = self.table.viewport().rect()
        width = min(viewport.width(), 560)
        height = min(viewport.height(), self.placeholder.heightForWidth(width))
        self.placeholder.setGeometry(viewport.x() + (viewport.width() - width) // 2,
                                     viewport.y() + max((viewport.height() - height) // 3, 0),
                                     width, max(height, 0))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._place_placeholder()
        return super().eventFilter(watched, event)

    def _on_placeholder_link_activated(self, link: str) -> None:
        if link == "send":
            self.open_composer()
