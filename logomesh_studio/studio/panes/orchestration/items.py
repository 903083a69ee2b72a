"""What the scene draws: phase lanes, task nodes and the edges between them.

Items only draw; the document holds the data. Each keeps ``boundingRect``/``shape``
to a stored rectangle; pens, brushes and fonts come from one :class:`Look` per palette
and text is shaped once into glyph runs (at the first paint), so a paint allocates
nothing and a new zoom does not lay the text out again (``QStaticText`` would, at
every new scale). Nodes cache their pixels per device (``DeviceCoordinateCache``);
while the view zooms they paint straight to the screen instead (see
:meth:`OrchestrationScene.set_zooming`). Zoomed out below :data:`DETAIL_LOD`, nodes
and edges stop painting themselves (``ItemHasNoContents``: Qt no longer calls into
Python for each) and one :class:`OverviewItem` draws them all as plain boxes and
lines in a few calls; they stay selectable and movable.

Construction is lean because a 1,000-task graph is rebuilt on every edit: no
``itemChange`` override (the scene moves edges after a drag), tooltips made when
asked for (:meth:`OrchestrationScene.helpEvent`), no per-item ``setData``.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGlyphRun,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QStyleOptionGraphicsItem,
    QWidget,
)

from logomesh_studio.orchestration.graph import LANE_HEADER, LANE_HEIGHT, NODE_HEIGHT, NODE_WIDTH
from logomesh_studio.orchestration.records import Status
from logomesh_studio.studio import theme

STATE_COLORS = {"pending": "muted", "running": "accent", "completed": "ok", "failed": "error",
                "skipped": "warning"}
"""Run states and the theme colour each is drawn in."""
DETAIL_LOD = 0.45
"""Below this zoom a node is a coloured box: text would be unreadable anyway."""

_FLAG = QGraphicsItem.GraphicsItemFlag
_NODE_FLAGS = _FLAG.ItemIsSelectable | _FLAG.ItemIsMovable
_NODE_RECT = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
_NODE_OUTLINE = _NODE_RECT.adjusted(1, 1, -1, -1)
_STATE_BAR = QRectF(1, 8, 5, NODE_HEIGHT - 16)
_BADGE = QRectF(NODE_WIDTH - 24, 6, 16, 16)
_NAME_AT, _CALL_AT, _STATUS_AT = QPointF(12, 6), QPointF(12, 26), QPointF(12, 44)
_LANE_HEADER = QRectF(0, 0, LANE_HEADER - 16, LANE_HEIGHT)
_TEXT_WIDTH = NODE_WIDTH - _NAME_AT.x() - 8
_NAME_WIDTH = _TEXT_WIDTH - 20  # the problem badge's corner
_LANE_NAME_AT, _LANE_NOTE_AT = QPointF(10, 12), QPointF(10, 34)
_LANE_TEXT_WIDTH = _LANE_HEADER.width() - _LANE_NAME_AT.x() - 4


class Look:
    """The pens, brushes, colours and fonts of one palette, made once for every paint."""

    def __init__(self, palette: QPalette, font: QFont) -> None:
        self.key = (palette.cacheKey(), theme.is_dark())
        self.fill = palette.window().color()
        self.fill_brush = QBrush(self.fill)
        self.text = palette.text().color()
        self.text_pen = QPen(self.text)
        self.muted = theme.color("muted")
        self.muted_pen = QPen(self.muted)
        self.accent = theme.color("accent")
        self.error = theme.color("error")
        self.error_pen = QPen(self.error)
        self.error_brush = QBrush(self.error)
        self.white_pen = QPen(QColor("white"))
        self.border = self.fill.darker(150)
        self.states = {state: theme.color(name) for state, name in STATE_COLORS.items()}
        self.state_pens = {state: QPen(color) for state, color in self.states.items()}
        self.state_fills = {}
        for state, color in self.states.items():
            tinted = QColor(color)
            tinted.setAlpha(60)
            self.state_fills[state] = QBrush(tinted)
        self.font = QFont(font)
        self.bold = QFont(font)
        self.bold.setBold(True)
        self._outlines: dict[tuple[int, bool], QPen] = {}
        base = palette.base().color()
        self.bands = (base, base.darker(104))
        self.headers = tuple(band.darker(108) for band in self.bands)
        self.lane_pens = tuple(QPen(band.darker(125)) for band in self.bands)
        self.lane_selected_pen = QPen(self.accent)
        self.lane_selected_pen.setWidthF(2)
        self.edge_pen = QPen(self.muted)
        self.edge_pen.setWidthF(1.4)
        self.edge_pen.setCosmetic(True)
        self.overview_pen = QPen(self.muted)
        self.overview_pen.setCosmetic(True)

    def outline(self, color: QColor, thick: bool) -> QPen:
        """A node's border pen (kept per colour)."""
        key = (color.rgba(), thick)
        pen = self._outlines.get(key)
        if pen is None:
            pen = self._outlines[key] = QPen(color)
            pen.setWidthF(2.5 if thick else 1.2)
        return pen


_looks: dict[tuple[int, bool], Look] = {}


def look_of(scene: QGraphicsScene | None) -> Look:
    """The :class:`Look` of ``scene``'s palette (the application's without a scene)."""
    palette = scene.palette() if scene is not None else QPalette()
    key = (palette.cacheKey(), theme.is_dark())
    found = _looks.get(key)
    if found is None:
        if len(_looks) > 8:  # palettes come and go with theme switches
            _looks.clear()
        found = _looks[key] = Look(palette, scene.font() if scene is not None else QFont())
    return found


class LaneItem(QGraphicsItem):
    """A phase: a band across the scene, its name and mode in the header."""

    def __init__(self, name: str, mode: str, index: int, width: float, required: bool) -> None:
        super().__init__()
        self.name, self.mode, self.index, self.required = name, mode, index, required
        self.problem = ""
        self.state = ""
        self._rect = QRectF(0, 0, width, LANE_HEIGHT)
        self._texts: _Texts | None = None
        self.setPos(0, index * LANE_HEIGHT)
        self.setZValue(-10)
        self.setFlags(_FLAG.ItemIsSelectable)
        # No pixel cache: a lane is as wide as the graph, so caching it would allocate and
        # fill a pixmap the width of the whole graph at every zoom step, for two fills.

    def boundingRect(self) -> QRectF:
        return self._rect

    def set_width(self, width: float) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(0, 0, width, LANE_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        look = look_of(self.scene())
        odd = self.index % 2
        if odd:  # even lanes are the view's own background (the palette's base)
            painter.fillRect(self._rect, look.bands[odd])
        painter.fillRect(_LANE_HEADER, look.headers[odd])
        painter.setPen(look.lane_selected_pen if self.isSelected() else look.lane_pens[odd])
        painter.drawLine(self._rect.bottomLeft(), self._rect.bottomRight())
        if option.levelOfDetailFromTransform(painter.worldTransform()) < DETAIL_LOD:
            return
        if self._texts is None or self._texts[0] is not look:
            self._texts = (look, glyphs(self.name, look.bold, _LANE_TEXT_WIDTH), glyphs(
                self.mode + ("" if self.required else " · optional"), look.font,
                _LANE_TEXT_WIDTH))
        painter.setPen(look.text_pen)
        _draw(painter, _LANE_NAME_AT, self._texts[1])
        painter.setPen(look.muted_pen)
        _draw(painter, _LANE_NOTE_AT, self._texts[2])
        if self.state:
            painter.setPen(look.state_pens.get(self.state, look.muted_pen))
            painter.drawText(_LANE_HEADER.adjusted(10, 56, -4, 0), Qt.AlignmentFlag.AlignLeft,
                             self.state)
        if self.problem:
            painter.setPen(look.error_pen)
            painter.drawText(_LANE_HEADER.adjusted(10, 78, -4, 0), Qt.AlignmentFlag.AlignLeft,
                             "⚠ problem")

    def tool_tip(self) -> str:
        return f"phase {self.name}: {self.mode}" + (f"\n⚠ {self.problem}" if self.problem else "")


class TaskItem(QGraphicsItem):
    """A task node: name, target and type, its run state and duration, a problem badge."""

    def __init__(self, name: str, phase: str, target: str, type: str, x: float = 0.0,
                 y: float = 0.0, detailed: bool = True, cached: bool = True) -> None:
        super().__init__()
        # message_type, not type: QGraphicsItem.type() identifies the item class to Qt
        self.name, self.phase, self.target, self.message_type = name, phase, target, type
        self.state = ""
        self.duration: float | None = None
        self.problem = ""
        self.edges: list[EdgeItem] = []
        self._texts: _Texts | None = None
        self._status_text: list[QGlyphRun] | None = None
        self.setPos(x, y)
        if detailed:
            self.setFlags(_NODE_FLAGS)
            if cached:
                self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        else:
            self.setFlags(_NODE_FLAGS | _FLAG.ItemHasNoContents)

    def boundingRect(self) -> QRectF:
        return _NODE_RECT

    def shape(self) -> QPainterPath:
        return _NODE_SHAPE

    def call_text(self) -> str:
        """What the task calls, as the node shows it."""
        return f"{self.target} · {self.message_type}" if self.message_type \
            else f"{self.target} · execute()"

    def tool_tip(self) -> str:
        tip = f"{self.name}: {self.call_text()}"
        return f"{tip}\n⚠ {self.problem}" if self.problem else tip

    def set_state(self, state: str, duration: float | None = None) -> None:
        """Show a run state (``""`` for none) and, once finished, the duration."""
        self.state, self.duration = state, duration
        self._status_text = None
        self._overview_changed()
        self.update()

    def set_problem(self, problem: str) -> None:
        """Show a problem badge with ``problem`` as tooltip ("" clears it)."""
        if problem != self.problem:
            self.problem = problem
            self._overview_changed()
            self.update()

    def _overview_changed(self) -> None:
        overview = getattr(self.scene(), "overview", None)
        if overview is not None:
            overview.invalidate()

    def in_port(self) -> QPointF:
        return self.pos() + QPointF(NODE_WIDTH / 2, 0)

    def out_port(self) -> QPointF:
        return self.pos() + QPointF(NODE_WIDTH / 2, NODE_HEIGHT)

    def border(self, look: Look, selected: bool) -> QColor:
        """The colour of the node's border (and of its box in the overview)."""
        if selected:
            return look.accent
        if self.problem:
            return look.error
        return look.states.get(self.state, look.border)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        look = look_of(self.scene())
        selected = self.isSelected()
        accent = look.states.get(self.state)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(look.outline(self.border(look, selected), selected or bool(self.problem)))
        painter.setBrush(look.state_fills[self.state] if accent is not None else look.fill_brush)
        painter.drawRoundedRect(_NODE_OUTLINE, 6, 6)
        if accent is not None:
            painter.fillRect(_STATE_BAR, accent)
        if self._texts is None or self._texts[0] is not look:
            self._texts = (look, glyphs(self.name, look.bold, _NAME_WIDTH),
                           glyphs(self.call_text(), look.font, _TEXT_WIDTH))
            self._status_text = None
        painter.setPen(look.text_pen)
        _draw(painter, _NAME_AT, self._texts[1])
        painter.setPen(look.muted_pen)
        _draw(painter, _CALL_AT, self._texts[2])
        if self.state:
            if self._status_text is None:
                status = self.state
                if self.duration is not None and self.state in (Status.COMPLETED, Status.FAILED):
                    status += f" · {self.duration * 1000:.1f} ms"
                self._status_text = glyphs(status, look.font, _TEXT_WIDTH)
            painter.setPen(look.state_pens.get(self.state, look.text_pen))
            _draw(painter, _STATUS_AT, self._status_text)
        if self.problem:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(look.error_brush)
            painter.drawEllipse(_BADGE)
            painter.setPen(look.white_pen)
            painter.drawText(_BADGE, Qt.AlignmentFlag.AlignCenter, "!")


_NODE_SHAPE = QPainterPath()
_NODE_SHAPE.addRect(_NODE_RECT)


class EdgeItem(QGraphicsPathItem):
    """``source`` writes a key ``target`` reads: a curve from one node to the other."""

    def __init__(self, source: TaskItem, target: TaskItem, key: str, pen: QPen,
                 detailed: bool = True) -> None:
        super().__init__()
        self.source, self.target, self.key = source, target, key
        self._ends = (QPointF(), QPointF())
        source.edges.append(self)
        target.edges.append(self)
        self.setZValue(-1)
        self.setPen(pen)
        if not detailed:
            self.setFlags(_FLAG.ItemHasNoContents)
        self.adjust()

    def tool_tip(self) -> str:
        return f"{self.source.name} → {self.target.name}: {self.key}"

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
        scene = self.scene()
        look = look_of(scene)
        if self._lines is None:
            self._lines = [edge.ends() for edge in self._edges]
            self._boxes = None
        if self._boxes is None:
            selected = {id(item) for item in scene.selectedItems()} if scene else set()
            plain: list[QRectF] = []
            boxes: dict[int, tuple[QColor, list[QRectF]]] = {}
            for task in self._tasks.values():
                rect = QRectF(task.x(), task.y(), NODE_WIDTH, NODE_HEIGHT)
                picked = id(task) in selected
                if not (picked or task.state or task.problem):
                    plain.append(rect)
                    continue
                color = task.border(look, picked)
                boxes.setdefault(color.rgba(), (color, []))[1].append(rect)
            self._boxes = [(look.border, plain), *boxes.values()]
        painter.setPen(look.overview_pen)
        painter.drawLines(self._lines)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self._boxes:
            if rects:
                painter.setBrush(color)
                painter.drawRects(rects)


_Texts = tuple[Look, list[QGlyphRun], list[QGlyphRun]]


def glyphs(text: str, font: QFont, width: float = 0.0) -> list[QGlyphRun]:
    """``text`` shaped once in ``font`` (cut to ``width`` with "…" when given): glyphs
    and positions, top-left at (0, 0)."""
    if width:
        text = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)
    layout = QTextLayout(text, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return layout.glyphRuns()


def _draw(painter: QPainter, at: QPointF, runs: list[QGlyphRun]) -> None:
    for run in runs:
        painter.drawGlyphRun(at, run)
