"""Item model of the plugin tree: one row per plugin, its manifest facts as children.

Updates arrive as whole snapshots (``PluginInfo`` lists, traffic summaries, CPU
shares); the model diffs them against its nodes by key so expanded rows and the
selection survive a refresh and a reload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont

from logomesh_studio.runtime.events import ReloadFailed
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.studio import theme
from logomesh_studio.studio.client import CPU_SAMPLE_S, CPU_WINDOW_S
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.item_models import TreeModel

if TYPE_CHECKING:
    from logomesh_studio.runtime.bus import Connection
    from logomesh_studio.runtime.plugin_record import PluginInfo

_Index = QModelIndex | QPersistentModelIndex
NodeRole = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Plugin", "Status", "Version", "Sent", "Received", "CPU")
CPU_COLUMN = COLUMNS.index("CPU")
CPU_TOOLTIP = (f"Share of the runtime thread's time spent in each plugin's own code over the "
               f"last {CPU_WINDOW_S:g} s, sampled every {CPU_SAMPLE_S * 1000:g} ms and updated "
               "every second.\n"
               "Calls into another plugin count for that plugin; waiting for messages counts "
               "for none; a blocking call such as time.sleep counts for its caller.")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
RELOAD_FAILED = "reload failed"


@dataclass(eq=False)  # identity: parent() looks a node up among its siblings
class Node:
    """One row: ``kind`` is plugin, group, item or error."""

    key: str
    kind: str
    texts: tuple[str, ...]
    plugin_id: str
    icon: str = ""
    color: str = ""
    tooltip: str = ""
    path: str = ""
    line: int = 0
    children: list[Node] = field(default_factory=list)
    parent: Node | None = field(default=None, repr=False)

    def same_look(self, other: Node) -> bool:
        return (self.texts, self.icon, self.color, self.tooltip, self.path, self.line) == (
            other.texts, other.icon, other.color, other.tooltip, other.path, other.line)


def _row(first: str) -> tuple[str, ...]:
    return (first,) + ("",) * (len(COLUMNS) - 1)


def cpu_text(share: float) -> str:
    """``"12 %"``, or blank below half a percent."""
    return f"{share * 100:.0f} %" if share >= 0.005 else ""


def _status_icon(status: str) -> str:
    return {"running": "status-running", "failed": "status-failed",
            "reloading": "status-reloading", "loading": "status-loading",
            RELOAD_FAILED: "status-reload-failed"}.get(status, "status-stopped")


def plugin_node(info: PluginInfo, connections: list[Connection],
                reloading: bool, reload_error: ReloadFailed | None, cpu: float = 0.0) -> Node:
    """The row of one plugin with its children, from plain snapshots."""
    pid = info.id
    status: str = PluginStatus.RELOADING if reloading else info.status
    if reload_error is not None and status == PluginStatus.RUNNING:
        status = RELOAD_FAILED
    sent = sum(c.sent for c in connections)
    received = sum(c.received for c in connections)
    red = status in (PluginStatus.FAILED, RELOAD_FAILED)
    tooltip = f"{info.name} {info.version}\n{info.description}\n{info.folder}".strip()
    texts = (pid, status, info.version, f"{sent:,}", f"{received:,}", cpu_text(cpu))
    node = Node(pid, "plugin", texts, pid, icon=_status_icon(status),
                color="error" if red else "", tooltip=tooltip)

    def item(key: str, text: str, tip: str = "", color: str = "") -> Node:
        return Node(key, "item", _row(text), pid, tooltip=tip, color=color)

    if reload_error is not None:
        error = Node("error:reload", "error",
                     _row(f"Reload failed at {reload_error.stage}: {reload_error.error}"),
                     pid, icon="status-reload-failed", color="error",
                     tooltip=reload_error.traceback or reload_error.error,
                     path=reload_error.path, line=reload_error.line)
        node.children.append(error)
    if info.status == PluginStatus.FAILED and info.error:
        node.children.append(Node("error:plugin", "error", _row(info.error), pid,
                                  icon="status-failed", color="error",
                                  tooltip=info.traceback or info.error))
    groups = (
        ("Isolation", _isolation_items(info, item)),
        ("Capabilities", [item(c, c) for c in info.capabilities]),
        ("Dependencies", [item(d, f"{d} {spec}".strip()) for d, spec in
                          sorted(info.dependencies.items())]),
        ("Permissions", [item(p, p) for p in info.permissions]),
        ("Handles", [item(h, h) for h in info.handles]),
        ("Connections", [item(c.peer, f"{c.peer}: {c.sent:,} sent · {c.received:,} received",
                              f"types: {', '.join(c.types)}\nmean latency: "
                              f"{c.mean_latency * 1e3:.2f} ms\nerrors: {c.errors}",
                              "error" if c.errors else "")
                         for c in connections]),
    )
    for title, items in groups:
        if items:
            group = Node(f"group:{title}", "group", _row(f"{title} ({len(items)})"), pid,
                         children=items)
            node.children.append(group)
    return node


def _isolation_items(info: PluginInfo, item: Callable[..., Node]) -> list[Node]:
    """An isolated plugin's process and what protects it; a missing protection in red."""
    if info.isolation != "process":
        return []
    where = f"own process (pid {info.pid})" if info.pid else "own process (not running)"
    items = [item("process", where, "Runs in a sandboxed process of its own: it reaches "
                  "other plugins only through the bridge")]
    for protection, state in sorted(info.sandbox.items()):
        missing = state != "on"
        items.append(item(protection, f"{protection}: {state}",
                          "This kernel lacks it: the plugin runs isolated by process only"
                          if missing else "", "error" if missing else ""))
    return items


class PluginTreeModel(TreeModel):
    """Plugins and their capabilities, dependencies, permissions, handlers, connections."""

    HEADERS = COLUMNS
    HEADER_TIPS = {CPU_COLUMN: CPU_TOOLTIP}

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._root = Node("", "root", (), "")
        self.infos: dict[str, PluginInfo] = {}
        self.connections: dict[str, list[Connection]] = {}
        self.reloading: set[str] = set()
        self.reload_errors: dict[str, ReloadFailed] = {}
        self.cpu: dict[str, float] = {}

    # -- updates ----------------------------------------------------------------------------

    def set_plugins(self, infos: list[PluginInfo]) -> None:
        self.infos = {info.id: info for info in infos}
        self._rebuild()

    def set_connections(self, connections: dict[str, list[Connection]]) -> None:
        self.connections = connections
        self._rebuild()

    def set_reloading(self, plugin_id: str, reloading: bool) -> None:
        (self.reloading.add if reloading else self.reloading.discard)(plugin_id)
        self._rebuild()

    def set_reload_error(self, plugin_id: str, error: ReloadFailed | None) -> None:
        if error is None:
            self.reload_errors.pop(plugin_id, None)
        else:
            self.reload_errors[plugin_id] = error
        self._rebuild()

    def set_cpu(self, shares: dict[str, float]) -> None:
        """Each plugin's share of the runtime thread's recent time (missing: none)."""
        self.cpu = dict(shares)
        self._rebuild()

    def _rebuild(self) -> None:
        specs = [plugin_node(info, self.connections.get(pid, []), pid in self.reloading,
                             self.reload_errors.get(pid), self.cpu.get(pid, 0.0))
                 for pid, info in self.infos.items()]
        self._sync(self._root, QModelIndex(), specs)

    def _sync(self, parent: Node, parent_index: QModelIndex, specs: list[Node]) -> None:
        keys = [s.key for s in specs]
        wanted = set(keys)
        for row in range(len(parent.children) - 1, -1, -1):
            if parent.children[row].key not in wanted:
                self.beginRemoveRows(parent_index, row, row)
                del parent.children[row]
                self.endRemoveRows()
        for row, spec in enumerate(specs):
            current = parent.children[row] if row < len(parent.children) else None
            if current is not None and current.key != spec.key:
                stale = next((i for i, c in enumerate(parent.children) if c.key == spec.key), None)
                if stale is not None:
                    self.beginRemoveRows(parent_index, stale, stale)
                    del parent.children[stale]
                    self.endRemoveRows()
                current = None
            if current is None:
                self._adopt(spec, parent)
                self.beginInsertRows(parent_index, row, row)
                parent.children.insert(row, spec)
                self.endInsertRows()
                continue
            if not current.same_look(spec):
                current.texts, current.icon, current.color = spec.texts, spec.icon, spec.color
                current.tooltip, current.path, current.line = spec.tooltip, spec.path, spec.line
                self.dataChanged.emit(self.createIndex(row, 0, current),
                                      self.createIndex(row, len(COLUMNS) - 1, current))
            self._sync(current, self.createIndex(row, 0, current), spec.children)

    def _adopt(self, node: Node, parent: Node) -> None:
        node.parent = parent
        for child in node.children:
            self._adopt(child, node)

    # -- queries ----------------------------------------------------------------------------

    def plugin_index(self, plugin_id: str) -> QModelIndex:
        for row, node in enumerate(self._root.children):
            if node.key == plugin_id:
                return self.createIndex(row, 0, node)
        return QModelIndex()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return node.texts[column]
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            if node.icon:
                return icon(node.icon)
            if node.kind == "group":
                return None
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if node.color:
                return QBrush(theme.color(node.color))
            if node.kind == "group" or (node.kind == "plugin" and column >= 2):
                return QBrush(theme.color("muted"))
        if role == Qt.ItemDataRole.FontRole and node.kind == "plugin" and column == 0:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 3:
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            if node.kind == "plugin" and column == CPU_COLUMN:
                share = self.cpu.get(node.plugin_id, 0.0)
                return f"{node.plugin_id}: {share * 100:.1f} %\n{CPU_TOOLTIP}"
            return node.tooltip or None
        if role == NodeRole:
            return node
        return None
