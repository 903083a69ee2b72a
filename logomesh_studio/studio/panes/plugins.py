"""Plugin tree: every plugin's status, manifest facts, live traffic and CPU share, with actions.

Context menu: reload, stop/start, debug, send a message, open folder, show messages,
copy id. A reload that widens a plugin's permissions shows a banner above the tree
(approve or reject). Failed plugins
(and failed reloads) are red and show their error; the panel below the tree shows
the selected plugin's traceback with clickable file locations.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QSplitter,
    QStyleOptionViewItem,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.runtime.events import ReloadCompleted, ReloadFailed, ReloadStarted
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.client import ClientState, RuntimeClient
from logomesh_studio.studio.panes.permission_requests import PermissionRequests
from logomesh_studio.studio.panes.plugin_tree_model import NodeRole, PluginTreeModel
from logomesh_studio.studio.widgets.search_field import SearchField
from logomesh_studio.studio.widgets.traceback_view import TracebackView

if TYPE_CHECKING:
    from logomesh_studio.runtime.plugin_record import PluginInfo

TRAFFIC_REFRESH_MS = 500


class PluginsPane(QWidget):
    """The plugin tree with a search box, lifecycle actions and an error panel."""

    sig_show_messages_requested = Signal(str)
    sig_send_message_requested = Signal(str)
    sig_debug_requested = Signal(str)
    sig_open_file_requested = Signal(str, int)

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plugins_pane")
        self.client = client
        self.model = PluginTreeModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setAutoAcceptChildRows(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._traffic_dirty = False
        self._traffic_timer = QTimer(self)
        self._traffic_timer.setInterval(TRAFFIC_REFRESH_MS)
        self._build()
        self._wire_signals()

    def _action(self, name: str, text: str, icon_name: str, tip: str,
                shortcut: str = "") -> QAction:
        action = make_action(self, text, icon_name, tip, shortcut, name=name)
        action.setEnabled(False)
        return action

    def _build(self) -> None:
        self.action_reload = self._action("action_reload_plugin", "Reload Plugin", "reload",
                                          "Reload the selected plugin, keeping its state",
                                          "Ctrl+Shift+R")
        self.action_stop = self._action("action_stop_plugin", "Stop Plugin", "stop",
                                        "Stop the selected plugin (cleanup runs)", "Shift+F5")
        self.action_start = self._action("action_start_plugin", "Start Plugin", "start",
                                         "Start the selected plugin", "Ctrl+F5")
        self.action_debug = self._action("action_debug_plugin", "Debug Plugin", "debug",
                                         "Debug this plugin: stop at its breakpoints")
        self.action_send_message = self._action("action_send_plugin_message",
                                                "Send Message…", "send",
                                                "Send a message to this plugin as Studio, which "
                                                "may call any plugin")
        self.action_open_folder = self._action("action_open_plugin_folder", "Open Folder",
                                               "folder", "Open the plugin's folder")
        self.action_show_messages = self._action("action_show_plugin_messages",
                                                 "Show Messages", "messages",
                                                 "Filter the message inspector to this plugin")
        self.action_copy_id = self._action("action_copy_plugin_id", "Copy Id", "copy",
                                           "Copy the plugin id to the clipboard")
        self.plugin_actions = (self.action_reload, self.action_stop, self.action_start,
                               self.action_debug, self.action_send_message,
                               self.action_open_folder, self.action_show_messages,
                               self.action_copy_id)
        for action in (self.action_reload, self.action_stop, self.action_start):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        self.toolbar = QToolBar("Plugins", self)
        self.toolbar.setObjectName("plugins_toolbar")
        self.toolbar.setIconSize(self.toolbar.iconSize() * 0.75)
        for action in (self.action_reload, self.action_stop, self.action_start):
            self.toolbar.addAction(action)
        self.search = SearchField("Filter plugins, capabilities, permissions…", self)
        self.search.setObjectName("plugin_search")
        self.search.setToolTip("Show plugins whose id or facts contain this text")
        self.toolbar.addWidget(self.search)

        self.tree = QTreeView(self)
        self.tree.setObjectName("plugin_tree")
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setAnimated(False)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for column, width in ((0, 160), (1, 92), (2, 58), (3, 46), (4, 74), (5, 46)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        self.tree.viewport().installEventFilter(self)

        self.details = TracebackView(self)
        self.details.setObjectName("plugin_details")
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("plugins_splitter")
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        self.permission_requests = PermissionRequests(self.client, self)
        layout.addWidget(self.permission_requests)
        layout.addWidget(self.splitter)

    def _wire_signals(self) -> None:
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_messages_recorded.connect(self._on_client_messages_recorded)
        self.client.sig_reload_started.connect(self._on_client_reload_started)
        self.client.sig_reload_completed.connect(self._on_client_reload_completed)
        self.client.sig_reload_failed.connect(self._on_client_reload_failed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.client.sig_cpu_updated.connect(self._on_client_cpu_updated)
        self._traffic_timer.timeout.connect(self._on_traffic_timer_timeout)
        self.search.sig_search_changed.connect(self._on_search_changed)
        self.tree.selectionModel().currentRowChanged.connect(self._on_tree_current_changed)
        self.tree.customContextMenuRequested.connect(self._on_tree_context_menu)
        self.tree.doubleClicked.connect(self._on_tree_double_clicked)
        self.details.sig_open_file_requested.connect(self.sig_open_file_requested)
        self.proxy.rowsInserted.connect(self._on_proxy_rows_inserted)
        self.proxy.rowsRemoved.connect(self._fit_name_column)
        self.proxy.modelReset.connect(self._fit_name_column)
        self.tree.header().sectionResized.connect(self._on_header_section_resized)
        self.action_reload.triggered.connect(self._on_reload_triggered)
        self.action_stop.triggered.connect(self._on_stop_triggered)
        self.action_start.triggered.connect(self._on_start_triggered)
        self.action_debug.triggered.connect(self._on_debug_triggered)
        self.action_send_message.triggered.connect(self._on_send_message_triggered)
        self.action_open_folder.triggered.connect(self._on_open_folder_triggered)
        self.action_show_messages.triggered.connect(self._on_show_messages_triggered)
        self.action_copy_id.triggered.connect(self._on_copy_id_triggered)

    # -- client events ----------------------------------------------------------------------

    def _on_client_plugins_listed(self, infos: list[PluginInfo]) -> None:
        first = not self.model.infos
        self.model.set_plugins(infos)
        if first and infos and not self.tree.currentIndex().isValid():
            self.tree.setCurrentIndex(self.proxy.mapFromSource(self.model.plugin_index(infos[0].id)))
        self._traffic_dirty = True
        self._on_tree_current_changed(self.tree.currentIndex(), QModelIndex())

    def _on_client_messages_recorded(self, batch: list) -> None:
        self._traffic_dirty = True
        if not self._traffic_timer.isActive():
            self._traffic_timer.start()

    def _on_traffic_timer_timeout(self) -> None:
        if not self._traffic_dirty:
            self._traffic_timer.stop()
            return
        self._traffic_dirty = False
        if self.client.state == ClientState.RUNNING:
            self.client.spawn(self.client.traffic(), "traffic", self.model.set_connections)

    def _on_client_cpu_updated(self, shares: dict[str, float]) -> None:
        self.model.set_cpu(shares)

    def _on_client_reload_started(self, event: ReloadStarted) -> None:
        self.model.set_reloading(event.plugin_id, True)

    def _on_client_reload_completed(self, event: ReloadCompleted) -> None:
        self.model.set_reload_error(event.plugin_id, None)
        self.model.set_reloading(event.plugin_id, False)
        self._refresh_details()

    def _on_client_reload_failed(self, event: ReloadFailed) -> None:
        self.model.set_reload_error(event.plugin_id, event)
        self.model.set_reloading(event.plugin_id, False)
        self._refresh_details()

    def _on_client_workspace_opened(self, workspace: str) -> None:
        self.model.set_plugins([])
        self.model.set_connections({})
        self.model.set_cpu({})
        self.model.reload_errors.clear()
        self.model.reloading.clear()
        self.details.clear()

    # -- view -------------------------------------------------------------------------------

    def _on_search_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if text:
            self.tree.expandAll()

    def _on_proxy_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if not parent.isValid():
            self._fit_name_column()
        # Plugin rows span no columns; their children read better across the whole width.
        if parent.isValid():
            for row in range(first, last + 1):
                self.tree.setFirstColumnSpanned(row, parent, True)
                child = self.proxy.index(row, 0, parent)
                for sub in range(self.proxy.rowCount(child)):
                    self.tree.setFirstColumnSpanned(sub, child, True)

    def name_column_width(self) -> int:
        """The width the widest plugin name needs (icon, indentation and margins included)."""
        header = self.tree.header()
        option = QStyleOptionViewItem()
        self.tree.initViewItemOption(option)
        delegate = self.tree.itemDelegate()
        widest = header.fontMetrics().horizontalAdvance(str(
            self.proxy.headerData(0, Qt.Orientation.Horizontal))) + 24
        for row in range(self.proxy.rowCount()):
            widest = max(widest, delegate.sizeHint(option, self.proxy.index(row, 0)).width())
        return widest + self.tree.indentation()

    def _fit_name_column(self, *args: object) -> None:
        # The Plugin column takes the room the others leave, but never less than its names
        # need: a narrow pane scrolls sideways instead of cutting every name to "a…".
        header = self.tree.header()
        others = sum(header.sectionSize(c) for c in range(1, header.count()))
        width = max(self.name_column_width(), self.tree.viewport().width() - others)
        if header.sectionSize(0) != width:
            header.resizeSection(0, width)

    def _on_header_section_resized(self, column: int, old: int, new: int) -> None:
        if column != 0:
            self._fit_name_column()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_name_column()
        return super().eventFilter(watched, event)

    def selected_plugin(self) -> str | None:
        node = self.proxy.data(self.tree.currentIndex(), NodeRole)
        return node.plugin_id if node is not None else None

    def select_plugin(self, plugin_id: str) -> None:
        index = self.proxy.mapFromSource(self.model.plugin_index(plugin_id))
        if index.isValid():
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)

    def _on_tree_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        pid = self.selected_plugin()
        info = self.model.infos.get(pid) if pid else None
        for action in self.plugin_actions:
            action.setEnabled(info is not None)
        if info is not None:
            self.action_stop.setEnabled(info.status == PluginStatus.RUNNING)
            self.action_start.setEnabled(info.status in (PluginStatus.STOPPED, PluginStatus.FAILED))
            self.action_debug.setEnabled(info.status == PluginStatus.RUNNING)
            self.action_send_message.setEnabled(info.status == PluginStatus.RUNNING)
        self._refresh_details()

    def _refresh_details(self) -> None:
        pid = self.selected_plugin()
        info = self.model.infos.get(pid) if pid else None
        if info is None:
            self.details.clear()
            return
        facts = (f"{html.escape(info.name)} <span>{html.escape(info.version)}</span> · "
                 f"{html.escape(info.status)}<br>{html.escape(info.description)}<br>"
                 f"<small>{html.escape(info.folder)}</small>")
        reload_error = self.model.reload_errors.get(info.id)
        if reload_error is not None:
            self.details.show_error(info.id, f"Reload failed at {reload_error.stage}: "
                                    f"{reload_error.error}", reload_error.traceback,
                                    reload_error.path, reload_error.line, facts)
        else:
            self.details.show_error(info.id, info.error, info.traceback, details=facts)

    def _on_tree_double_clicked(self, index: QModelIndex) -> None:
        node = self.proxy.data(index, NodeRole)
        if node is not None and node.kind == "error" and node.path:
            self.sig_open_file_requested.emit(node.path, node.line)

    def _on_tree_context_menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        if not index.isValid():
            return
        if index.siblingAtColumn(0) != self.tree.currentIndex().siblingAtColumn(0):
            self.tree.setCurrentIndex(index)  # the menu acts on the plugin under the mouse
        menu = QMenu(self)
        for action in self.plugin_actions[:5]:
            menu.addAction(action)
        menu.addSeparator()
        for action in self.plugin_actions[5:]:
            menu.addAction(action)
        menu.popup(self.tree.viewport().mapToGlobal(pos))

    # -- actions ----------------------------------------------------------------------------

    def _command(self, command: Callable[[str], Coroutine[Any, Any, Any]], what: str) -> None:
        pid = self.selected_plugin()
        if pid is not None:
            self.client.spawn(command(pid), f"{what} {pid}")

    def _on_reload_triggered(self) -> None:
        self._command(self.client.reload_plugin, "reload")

    def _on_stop_triggered(self) -> None:
        self._command(self.client.stop_plugin, "stop")

    def _on_start_triggered(self) -> None:
        self._command(self.client.start_plugin, "start")

    def _on_debug_triggered(self) -> None:
        pid = self.selected_plugin()
        if pid is not None:
            self.sig_debug_requested.emit(pid)

    def _on_send_message_triggered(self) -> None:
        pid = self.selected_plugin()
        if pid is not None:
            self.sig_send_message_requested.emit(pid)

    def _on_open_folder_triggered(self) -> None:
        pid = self.selected_plugin()
        info = self.model.infos.get(pid) if pid else None
        if info is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(info.folder))))

    def _on_show_messages_triggered(self) -> None:
        pid = self.selected_plugin()
        if pid is not None:
            self.sig_show_messages_requested.emit(pid)

    def _on_copy_id_triggered(self) -> None:
        pid = self.selected_plugin()
        if pid is not None:
            QGuiApplication.clipboard().setText(pid)
