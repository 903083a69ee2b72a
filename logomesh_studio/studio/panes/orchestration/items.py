"""What the scene draws: phase lanes, task nodes and the edges between them.

Items only draw; the document holds the data. Each keeps ``boundingRect``/``shape``
to a stored rectangle and caches its pixels per device (``DeviceCoordinateCache``);
its text is laid out once (``QStaticText``), not on every paint. Zoomed out below
:data:`DETAIL_LOD`, nodes and edges stop painting themselves (``ItemHasNoContents``:
Qt no longer calls into Python for each) and one :class:`OverviewItem` draws them all
as plain boxes and lines in a few calls; they stay selectable and movable.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from logomesh_studio.orchestration.graph import LANE_HEADER, LANE_HEIGHT, NODE_HEIGHT, NODE_WIDTH
from logomesh_studio.orchestration.records import Status
from logomesh_studio.studio import theme

STATE_COLORS = {"pending": "muted", "running": "accent", "completed": "ok", "failed": "error",
                "skipped": "warning"}
"""Run states and the theme colour each is drawn in."""
DETAIL_LOD = 0.45
"""Below this zoom a node is a coloured box: text would be unreadable anyway."""
TASK, LANE = 1, 2
"""``data(KIND)`` of scene items: what a click selected."""
KIND = 0


class LaneItem(QGraphicsItem):
    """A phase: a band across the scene, its name and mode in the header."""

    def __init__(self, name: str, mode: str, index: int, width: float, required: bool) -> None:
        super().__init__()
        self.name, self.mode, self.index, self.required = name, mode, index, required
        self.problem = ""
        self.state = ""
        self._rect = QRectF(0, 0, width, LANE_HEIGHT)
        self.setPos(0, index * LANE_HEIGHT)
        self.setZValue(-10)
        self.setData(KIND, LANE)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        # No pixel cache: a lane is as wide as the graph, so caching it would allocate and
        # fill a pixmap the width of the whole graph at every zoom step, for two fills.

    def boundingRect(self) -> QRectF:
        return self._rect

    def set_width(self, width: float) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(0, 0, width, LANE_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        palette = self.scene().palette() if self.scene() else None
        base = palette.base().color() if palette else QColor("white")
        band = base.darker(104) if self.index % 2 else base
        painter.fillRect(self._rect, band)
        header = QRectF(0, 0, LANE_HEADER - 16, LANE_HEIGHT)
        painter.fillRect(header, band.darker(108))
        pen = QPen(theme.color("accent") if self.isSelected() else band.darker(125))
        pen.setWidthF(2 if self.isSelected() else 1)
        painter.setPen(pen)
        painter.drawLine(self._rect.bottomLeft(), self._rect.bottomRight())
        if option.levelOfDetailFromTransform(painter.worldTransform()) < DETAIL_LOD:
            return
        text = palette.text().color() if palette else QColor("black")
        painter.setPen(text)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(header.adjusted(10, 12, -4, 0), Qt.AlignmentFlag.AlignLeft, self.name)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(theme.color("muted"))
        note = self.mode + ("" if self.required else " · optional")
        painter.drawText(header.adjusted(10, 34, -4, 0), Qt.AlignmentFlag.AlignLeft, note)
        if self.state:
            painter.setPen(theme.color(STATE_COLORS.get(self.state, "muted")))
            painter.drawText(header.adjusted(10, 56, -4, 0), Qt.AlignmentFlag.AlignLeft, self.state)
        if self.problem:
            painter.setPen(theme.color("error"))
            painter.drawText(header.adjusted(10, 78, -4, 0), Qt.AlignmentFlag.AlignLeft, "⚠ problem")


class TaskItem(QGraphicsItem):
    """A task node: name, target and type, its run state and duration, a problem badge."""

    def __init__(self, name: str, phase: str, target: str, type: str) -> None:
        super().__init__()
        # message_type, not type: QGraphicsItem.type() identifies the item class to Qt
        self.name, self.phase, self.target, self.message_type = name, phase, target, type
        self.state = ""
        self.duration: float | None = None
        self.problem = ""
        self.edges: list[EdgeItem] = []
        self._rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        self._name_text = _static(name)
        self._call_text = _static(f"{target} · {type}" if type else f"{target} · execute()")
        self._status_text = _static("")
        self.setData(KIND, TASK)
        flag = QGraphicsItem.GraphicsItemFlag
        self.setFlags(flag.ItemIsSelectable | flag.ItemIsMovable | flag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setToolTip(f"{name}: {target}" + (f" · {type}" if type else " · execute()"))

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self._rect)
        return path

    def set_state(self, state: str, duration: float | None = None) -> None:
        """Show a run state (``""`` for none) and, once finished, the duration."""
        self.state, self.duration = state, duration
        status = state
        if duration is not None and state in (Status.COMPLETED, Status.FAILED):
            status += f" · {duration * 1000:.1f} ms"
        self._status_text = _static(status)
        self._overview_changed()
        self.update()

    def set_problem(self, problem: str) -> None:
        """Show a problem badge with ``problem`` as tooltip ("" clears it)."""
        if problem != self.problem:
            self.problem = problem
            tip = f"{self.name}: {self.target}" + (
                f" · {self.message_type}" if self.message_type else "")
            self.setToolTip(f"{tip}\n⚠ {problem}" if problem else tip)
            self._overview_changed()
            self.update()

    def _overview_changed(self, moved: bool = False) -> None:
        overview = getattr(self.scene(), "overview", None)
        if overview is not None:
            overview.invalidate(moved)

    def in_port(self) -> QPointF:
        return self.pos() + QPointF(NODE_WIDTH / 2, 0)

    def out_port(self) -> QPointF:
        return self.pos() + QPointF(NODE_WIDTH / 2, NODE_HEIGHT)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.adjust()
            self._overview_changed(moved=True)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._overview_changed()
        return super().itemChange(change, value)

    def colors(self, fill: QColor) -> tuple[QColor, QColor | None]:
        """``(border, state colour or None)`` of the node drawn over ``fill``."""
        accent = theme.color(STATE_COLORS[self.state]) if self.state in STATE_COLORS else None
        border = theme.color("error") if self.problem else (accent or fill.darker(150))
        if self.isSelected():
            border = theme.color("accent")
        return border, accent

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        palette = self.scene().palette() if self.scene() else None
        fill = palette.window().color() if palette else QColor("white")
        border, accent = self.colors(fill)
        if accent is not None:
            fill = QColor(accent)
            fill.setAlpha(60)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(border)
        pen.setWidthF(2.5 if self.isSelected() or self.problem else 1.2)
        painter.setPen(pen)
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(self._rect.adjusted(1, 1, -1, -1), 6, 6)
        if accent is not None:
            painter.fillRect(QRectF(1, 8, 5, NODE_HEIGHT - 16), accent)
        text = palette.text().color() if palette else QColor("black")
        painter.setPen(text)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        painter.drawStaticText(QPointF(12, 6), self._name_text)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(theme.color("muted"))
        painter.drawStaticText(QPointF(12, 26), self._call_text)
        if self.state:
            painter.setPen(accent or text)
            painter.drawStaticText(QPointF(12, 44), self._status_text)
        if self.problem:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.color("error"))
            badge = QRectF(NODE_WIDTH - 24, 6, 16, 16)
            painter.drawEllipse(badge)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "!")


class EdgeItem(QGraphicsPathItem):
    """``source`` writes a key ``target`` reads: a curve from one node to the other."""

    def __init__(self, source: TaskItem, target: TaskItem, key: str) -> None:
        super().__init__()
        self.source, self.target, self.key = source, target, key
        source.edges.append(self)
        target.edges.append(self)
        self.setZValue(-1)
        pen = QPen(theme.color("muted"))
        pen.setWidthF(1.4)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setToolTip(f"{source.name} → {target.name}: {key}")
        self.adjust()

    def adjust(self) -> None:
        start, end = self.source.out_port(), self.target.in_port()
        if end.y() <= start.y() + 8:  # same lane: leave the side, enter the other side
            start = self.source.pos() + QPointF(NODE_WIDTH, NODE_HEIGHT / 2)
            end = self.target.pos() + QPointF(0, NODE_HEIGHT / 2)
            bend = max(40.0, abs(end.x() - start.x()) / 2)
            c1, c2 = start + QPointF(bend, 0), end - QPointF(bend, 0)
        else:
            bend = max(30.0, (end.y() - start.y()) / 2)
            c1, c2 = start + QPointF(0, bend), end - QPointF(0, bend)
        path = QPainterPath(start)
        path.cubicTo(c1, c2, end)
        self._ends = (start, end)
        self.setPath(path)

    def ends(self) -> QLineF:
        """The straight line from source to target (how the overview draws it)."""
        return QLineF(*self._ends)


class OverviewItem(QGraphicsItem):
    """Every node and edge at once, as boxes and straight lines, for zoomed-out views.

    Nodes and edges set ``ItemHasNoContents`` while zoomed out (see
    :meth:`OrchestrationScene.set_detailed`): this item then draws them in a handful
    of ``drawRects``/``drawLines`` calls instead of a Python ``paint`` per item.
    """

    def __init__(self, tasks: dict[str, TaskItem], edges: list[EdgeItem], rect: QRectF) -> None:
        super().__init__()
        self._tasks, self._edges, self._rect = tasks, edges, rect
        self._lines: list[QLineF] | None = None
        self._boxes: list[tuple[QColor, list[QRectF]]] | None = None
        self.setZValue(-5)  # over the lanes, under nothing else that paints when zoomed out
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._rect

    def invalidate(self, moved: bool = False) -> None:
        """Recompute the boxes' colours (and, when a node ``moved``, the geometry) at the
        next paint."""
        self._boxes = None
        if moved:
            self._lines = None
        if self.isVisible():
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self._lines is None:
            self._lines = [edge.ends() for edge in self._edges]
            self._boxes = None
        if self._boxes is None:
            palette = self.scene().palette() if self.scene() else None
            fill = palette.window().color() if palette else QColor("white")
            boxes: dict[int, tuple[QColor, list[QRectF]]] = {}
            for task in self._tasks.values():
                border, accent = task.colors(fill)
                color = accent or border
                boxes.setdefault(color.rgba(), (color, []))[1].append(
                    QRectF(task.pos(), task.boundingRect().size()))
            self._boxes = list(boxes.values())
        pen = QPen(theme.color("muted"))
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLines(self._lines)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self._boxes:
            painter.setBrush(color)
            painter.drawRects(rects)


def _static(text: str) -> QStaticText:
    """``text`` laid out once for every later paint."""
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
    return static
