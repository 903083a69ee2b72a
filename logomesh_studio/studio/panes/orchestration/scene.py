"""The graph scene: rebuilt from the document's plain data, reporting drops and moves.

The scene keeps the BSP index and an explicit scene rect (set once per rebuild), so
Qt never walks every item to find the bounds.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneDragDropEvent,
    QGraphicsSceneHelpEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QToolTip,
)

from logomesh_studio._collector import collector_paused
from logomesh_studio.orchestration.graph import (
    LANE_HEADER,
    LANE_HEIGHT,
    NODE_GAP,
    NODE_WIDTH,
    Graph,
)
from logomesh_studio.studio.panes.orchestration.items import (
    EdgeItem,
    LaneItem,
    OverviewItem,
    TaskItem,
    look_of,
)

TARGET_MIME = "application/x-logomesh-target"
"""Drag data of the palette: a task target (plugin id or capability:<name>), UTF-8."""
MARGIN = 200.0


class OrchestrationScene(QGraphicsScene):
    """Lanes, task nodes and edges of one graph."""

    sig_target_dropped = Signal(str, str, int)  # phase, target, index in the phase
    sig_nodes_moved = Signal(object)  # list[(node name, x, y)] after a drag

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.lanes: list[LaneItem] = []
        self.tasks: dict[str, TaskItem] = {}
        self.edges: list[EdgeItem] = []
        self.overview: OverviewItem | None = None
        self.detailed = False  # views switch it on from DETAIL_LOD (see GraphView)
        self.zooming = False
        self.content = QRectF()
        """The rectangle the lanes and nodes cover (what fitting the view shows)."""
        self._press: dict[str, QPointF] = {}
        self.selectionChanged.connect(self._on_selection_changed)

    def show_graph(self, graph: Graph) -> None:
        """Replace every item with ``graph``'s lanes, nodes and edges."""
        with collector_paused():  # thousands of item wrappers: no full collections meanwhile
            self._show_graph(graph)

    def _show_graph(self, graph: Graph) -> None:
        selected = {item.name for item in self.selected_tasks()}
        selected_lanes = {lane.name for lane in self.lanes if lane.isSelected()}
        self.clear()
        self.lanes, self.tasks, self.edges, self.overview = [], {}, [], None
        right = max([n.x + NODE_WIDTH for n in graph.nodes.values()] + [LANE_HEADER + 400]) \
            + NODE_GAP * 4
        detailed = self.detailed
        for lane in graph.lanes:
            item = LaneItem(lane.name, lane.mode, lane.index, right, lane.required)
            self.addItem(item)
            self.lanes.append(item)
            if lane.name in selected_lanes:
                item.setSelected(True)
        tasks = self.tasks
        for node in graph.nodes.values():
            task = tasks[node.name] = TaskItem(node.name, node.phase, node.target, node.type,
                                               node.x, node.y, detailed, not self.zooming)
            self.addItem(task)
        for name in selected & tasks.keys():
            tasks[name].setSelected(True)
        pen = look_of(self).edge_pen
        for edge in graph.edges:
            edge_item = EdgeItem(tasks[edge.source], tasks[edge.target], edge.key, pen, detailed)
            self.addItem(edge_item)
            self.edges.append(edge_item)
        bottom = max(len(graph.lanes) * LANE_HEIGHT, max(
            [n.y for n in graph.nodes.values()] + [0.0]) + LANE_HEIGHT)
        self.content = QRectF(0, 0, right, bottom)
        rect = self.content.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        self.setSceneRect(rect)
        self.overview = OverviewItem(self.tasks, self.edges, rect)
        self.overview.setVisible(not detailed)
        self.addItem(self.overview)

    def set_detailed(self, detailed: bool) -> None:
        """Draw each node and edge in full (True), or all at once as boxes and lines."""
        if detailed != self.detailed:
            self.detailed = detailed
            no_contents = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
            for task in self.tasks.values():
                task.setFlag(no_contents, not detailed)
            for edge in self.edges:
                edge.setFlag(no_contents, not detailed)
            if self.overview is not None:
                self.overview.setVisible(not detailed)
            self._apply_cache()

    def set_zooming(self, zooming: bool) -> None:
        """While the view zooms, nodes paint straight to the screen (True).

        A node's device pixel cache holds one scale only: at every zoom step each visible
        node would get a new pixmap, be painted into it and copied out. Painting directly
        skips that churn (the text is already shaped, see :func:`items.glyphs`); once the
        zoom settles the caches come back and the next paint fills them.
        """
        if zooming != self.zooming:
            self.zooming = zooming
            self._apply_cache()

    def _apply_cache(self) -> None:
        mode = QGraphicsItem.CacheMode
        cache = mode.DeviceCoordinateCache if self.detailed and not self.zooming \
            else mode.NoCache
        for task in self.tasks.values():
            task.setCacheMode(cache)

    def selected_tasks(self) -> list[TaskItem]:
        return [item for item in self.selectedItems() if isinstance(item, TaskItem)]

    def selected_lanes(self) -> list[LaneItem]:
        return [item for item in self.selectedItems() if isinstance(item, LaneItem)]

    def lane_at(self, y: float) -> LaneItem | None:
        """The lane whose band holds scene coordinate ``y``."""
        for lane in self.lanes:
            if lane.y() <= y < lane.y() + LANE_HEIGHT:
                return lane
        return None

    def drop_index(self, lane: LaneItem, x: float) -> int:
        """Where a task dropped at ``x`` goes among ``lane``'s tasks (left to right)."""
        xs = sorted(item.x() for item in self.tasks.values() if item.phase == lane.name)
        return sum(1 for other in xs if other + NODE_WIDTH / 2 < x)

    def _on_selection_changed(self) -> None:
        if self.overview is not None:
            self.overview.invalidate()

    def helpEvent(self, event: QGraphicsSceneHelpEvent) -> None:  # noqa: N802 (Qt's name)
        """The tooltip of the item under the mouse, made when asked for."""
        view = event.widget().parentWidget() if event.widget() is not None else None
        transform = view.viewportTransform() if isinstance(view, QGraphicsView) else QTransform()
        for item in self.items(event.scenePos(), Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, transform):
            tip = getattr(item, "tool_tip", None)
            if tip is not None and item.isVisible():
                QToolTip.showText(event.screenPos(), tip(), event.widget())
                event.accept()
                return
        QToolTip.hideText()
        event.ignore()

    # -- drag and drop ------------------------------------------------------------------------

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        event.setAccepted(event.mimeData().hasFormat(TARGET_MIME))

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        lane = self.lane_at(event.scenePos().y())
        event.setAccepted(lane is not None and event.mimeData().hasFormat(TARGET_MIME))

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        lane = self.lane_at(event.scenePos().y())
        if lane is None or not event.mimeData().hasFormat(TARGET_MIME):
            event.ignore()
            return
        target = bytes(event.mimeData().data(TARGET_MIME).data()).decode()
        event.acceptProposedAction()
        self.sig_target_dropped.emit(lane.name, target, self.drop_index(lane, event.scenePos().x()))

    # -- moves --------------------------------------------------------------------------------

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mousePressEvent(event)
        self._press = {item.name: item.pos() for item in self.selected_tasks()}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseMoveEvent(event)
        if self._press and event.buttons() & Qt.MouseButton.LeftButton:
            for name in self._press:  # the nodes a drag may be moving
                item = self.tasks.get(name)
                for edge in item.edges if item is not None else ():
                    edge.adjust()
            if self.overview is not None:
                self.overview.invalidate(moved=True)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        moved = [(name, item.x(), item.y()) for name, item in self.tasks.items()
                 if name in self._press and item.pos() != self._press[name]]
        self._press = {}
        if moved:
            self.sig_nodes_moved.emit(moved)
