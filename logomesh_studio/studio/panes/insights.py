"""The Insights pane: the advisor's findings, live, each linked to what it is about.

New findings arrive as batches from the client (``sig_advice_found``); while the pane is
shown it also re-reads them every few seconds so the figures in the evidence stay
current. The details under the table link to the plugin (selected in the plugin tree),
the code location (opened in the editor at the line), the plugin's messages and the
profiler; a second tab shows the selected plugin's metrics.
"""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QLabel, QTabWidget, QToolBar, QVBoxLayout, QWidget

from logomesh_studio.devtools.findings import Finding, Severity
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.client import ClientState, RuntimeClient
from logomesh_studio.studio.panes.metrics_view import MetricsView
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.item_models import TableModel
from logomesh_studio.studio.widgets.record_table import RecordTableView, lay_out_with_details

REFRESH_MS = 2000
"""How often a shown pane re-reads the findings (their figures change)."""
_Index = QModelIndex | QPersistentModelIndex
_ICONS = {Severity.ERROR: "level-error", Severity.WARNING: "level-warning",
          Severity.INFO: "level-info"}
_COLORS = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def split_location(location: str) -> tuple[str, int]:
    """``("path", line)`` of a ``path:line`` location (line 0 when there is none)."""
    path, _, line = location.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return location, 0


class FindingsModel(TableModel):
    """Findings by key: a finding seen again replaces its row (its figures changed)."""

    HEADERS = ("Severity", "Kind", "Plugin", "About", "Evidence", "Location")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Finding] = []
        self._keys: dict[tuple[str, str, str, str], int] = {}

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        f = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (f.severity, f.kind, f.plugin, f.peer and f"-> {f.peer}" or f.type,
                    f.evidence, _short(f.location))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f.evidence if column != 5 else f.location
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon(_ICONS.get(Severity(f.severity), "level-info"))
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            name = _COLORS.get(Severity(f.severity))
            return QBrush(theme.color(name)) if name else None
        return None

    @property
    def findings(self) -> list[Finding]:
        return list(self._rows)

    def finding(self, row: int) -> Finding:
        return self._rows[row]

    def merge(self, findings: list[Finding]) -> None:
        """Add new findings at the end; replace the rows of ones already shown."""
        fresh = []
        for finding in findings:
            row = self._keys.get(finding.key)
            if row is None:
                fresh.append(finding)
            elif self._rows[row] != finding:
                self._rows[row] = finding
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))
        unique = list({f.key: f for f in fresh}.values())
        if unique:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(unique) - 1)
            for finding in unique:
                self._keys[finding.key] = len(self._rows)
                self._rows.append(finding)
            self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._keys.clear()
        self.endResetModel()


def _short(location: str) -> str:
    path, line = split_location(location)
    return f"{os.path.basename(path)}:{line}" if line else os.path.basename(path)


class InsightsPane(QWidget):
    """Findings table, the selected finding's details and links, and a Metrics tab."""

    sig_plugin_selected = Signal(str)
    sig_open_file_requested = Signal(str, int)
    sig_show_messages_requested = Signal(str, str)  # plugin, message type ('' for all)
    sig_profile_requested = Signal(str)

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insights_pane")
        self.client = client
        self.model = FindingsModel(self)
        self._refresh = QTimer(self)
        self._refresh.setInterval(REFRESH_MS)
        self._reading = False
        self._build()
        self._wire_signals()

    def _build(self) -> None:
        self.action_refresh = make_action(self, "Refresh Findings", "reload",
                                          "Evaluate the advisor's rules now", "",
                                          name="action_refresh_findings")
        self.action_clear = make_action(self, "Clear Findings", "clear",
                                        "Forget the findings shown (they come back if they "
                                        "still hold)", name="action_clear_findings")
        toolbar = QToolBar("Insights", self)
        toolbar.setObjectName("insights_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        toolbar.addAction(self.action_refresh)
        toolbar.addAction(self.action_clear)
        self.summary = QLabel("No findings yet: the advisor watches the running workspace.",
                              self)
        self.summary.setObjectName("insights_summary")
        self.summary.setContentsMargins(8, 0, 0, 0)
        toolbar.addWidget(self.summary)
        self.table = RecordTableView("findings_table", self.model, (82, 130, 110, 110, 420),
                                     parent=self)
        self.details = QLabel(self)
        self.details.setObjectName("finding_details")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.details.setContentsMargins(8, 6, 8, 6)
        findings = QWidget(self)
        self.splitter = lay_out_with_details(findings, toolbar, self.table, self.details,
                                             "insights_splitter")
        self.metrics = MetricsView(self.client, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("insights_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(findings, icon("level-warning"), "Findings")
        self.tabs.addTab(self.metrics, icon("profiler"), "Metrics")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def _wire_signals(self) -> None:
        self.client.sig_advice_found.connect(self._on_client_advice_found)
        self.client.sig_state_changed.connect(self._on_client_state_changed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self._refresh.timeout.connect(self._on_refresh_timeout)
        self.action_refresh.triggered.connect(self._on_refresh_timeout)
        self.action_clear.triggered.connect(self._on_clear_triggered)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.details.linkActivated.connect(self._on_details_link_activated)

    # -- findings ---------------------------------------------------------------------------

    def show_findings(self, findings: list[Finding]) -> None:
        """Merge ``findings`` into the table (new ones at the end)."""
        self.model.merge(findings)
        counts = {s: sum(1 for f in self.model.findings if f.severity == s) for s in Severity}
        self.summary.setText(", ".join(f"{n} {s}{'s' if n != 1 else ''}"
                                       for s, n in counts.items() if n)
                             or "No findings: nothing the advisor knows to improve.")
        current = self.table.currentIndex()
        if current.isValid():
            self._show_details(self.model.finding(current.row()))

    def _on_client_advice_found(self, findings: list[Finding]) -> None:
        self.show_findings(findings)

    def _on_client_state_changed(self, state: str) -> None:
        if state == ClientState.RUNNING:
            self._refresh.start()
        else:
            self._refresh.stop()

    def _on_client_workspace_opened(self, workspace: str) -> None:
        self._on_clear_triggered()

    def _on_refresh_timeout(self) -> None:
        if self._reading or self.client.state != ClientState.RUNNING or not self.isVisible():
            return
        self._reading = True
        task = self.client.spawn(self.client.findings(), "read findings", self.show_findings)
        task.add_done_callback(lambda _: setattr(self, "_reading", False))

    def _on_clear_triggered(self) -> None:
        self.model.clear()
        self.details.clear()

    # -- selection and links ----------------------------------------------------------------

    def _on_table_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.clear()
            return
        finding = self.model.finding(current.row())
        self._show_details(finding)
        self.metrics.select_plugin(finding.plugin)
        self.sig_plugin_selected.emit(finding.plugin)

    def _show_details(self, f: Finding) -> None:
        e = html.escape
        links = [f'<a href="plugin:{e(f.plugin)}">Select {e(f.plugin)}</a>']
        if f.location:
            links.append(f'<a href="open:{e(f.location)}">Open {e(_short(f.location))}</a>')
        links.append(f'<a href="messages:{e(f.plugin)}:{e(f.type)}">Show its messages</a>')
        if f.kind in ("blocking-handler", "slow-handler"):
            links.append(f'<a href="profile:{e(f.plugin)}">Profile</a>')
        self.details.setText(
            f"<b>{e(f.kind)}</b> in <b>{e(f.plugin)}</b>"
            + (f" ({e(f.type)})" if f.type else "") + (f" and {e(f.peer)}" if f.peer else "")
            + f"<p>{e(f.evidence)}</p><p><b>Fix:</b> {e(f.suggestion)}</p>"
            + " · ".join(links))

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        finding = self.model.finding(index.row())
        if finding.location:
            self._on_details_link_activated(f"open:{finding.location}")

    def _on_details_link_activated(self, link: str) -> None:
        kind, _, rest = link.partition(":")
        if kind == "plugin":
            self.sig_plugin_selected.emit(rest)
        elif kind == "open":
            path, line = split_location(rest)
            self.sig_open_file_requested.emit(path, line)
        elif kind == "messages":
            plugin, _, type_ = rest.partition(":")
            self.sig_show_messages_requested.emit(plugin, type_)
        elif kind == "profile":
            self.sig_profile_requested.emit(rest)
