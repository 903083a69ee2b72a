"""The graph view: wheel zoom around the cursor, middle-button or Space+drag pan, rubber
band selection, fit (F)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from logomesh_studio.studio.panes.orchestration.items import DETAIL_LOD
from logomesh_studio.studio.panes.orchestration.scene import OrchestrationScene

ZOOM_STEP = 1.15
MIN_SCALE, MAX_SCALE = 0.05, 4.0
SETTLE_MS = 150
"""A zoom counts as over this long after its last step: nodes get their pixel caches back."""


class GraphView(QGraphicsView):
    """A QGraphicsView tuned for many cached items: minimal updates, no index walks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orchestration_view")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setAcceptDrops(True)
        self._panning = False
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._on_settle_timeout)

    def zoom(self, factor: float) -> None:
        """Scale by ``factor`` within the zoom limits."""
        current = self.transform().m11()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        scene = self.scene()
        if isinstance(scene, OrchestrationScene):
            scene.set_zooming(True)
            self._set_scroll_bars_frozen(True)
            self._settle.start()
        self.scale(factor, factor)
        self._sync_detail()

    def _on_settle_timeout(self) -> None:
        self._set_scroll_bars_frozen(False)
        scene = self.scene()
        if isinstance(scene, OrchestrationScene):
            scene.set_zooming(False)

    def _set_scroll_bars_frozen(self, frozen: bool) -> None:
        """Stop (or resume) repainting the scroll bars: each zoom step changes their range,
        and the style's scroll bar painting costs more than the nodes' scaled caches."""
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            if bar.updatesEnabled() == frozen:
                bar.setUpdatesEnabled(not frozen)

    def fit(self) -> None:
        """Show every item (F)."""
        scene = self.scene()
        if scene is None:
            return
        if isinstance(scene, OrchestrationScene) and not scene.content.isEmpty():
            rect = scene.content  # explicit: no walk over every item's bounds
        else:
            rect = scene.itemsBoundingRect() if scene.items() else QRectF(0, 0, 400, 200)
        self.fitInView(rect.adjusted(-30, -30, 30, 30), Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.5:
            self.resetTransform()
            self.scale(1.5, 1.5)
            self.centerOn(rect.center())
        self._sync_detail()

    def setScene(self, scene: QGraphicsScene | None) -> None:  # noqa: N802 (Qt's name)
        old = self.scene()
        if isinstance(old, OrchestrationScene):
            old.set_zooming(False)
        super().setScene(scene)
        self._sync_detail()

    def _sync_detail(self) -> None:
        """Full nodes from :data:`DETAIL_LOD` up, the scene's overview below it."""
        scene = self.scene()
        if isinstance(scene, OrchestrationScene):
            scene.set_detailed(self.transform().m11() >= DETAIL_LOD)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom(ZOOM_STEP ** steps)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_F and not event.modifiers():
            self.fit()
        elif event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning = True
            self._last = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._panning:
            delta = event.position() - self._last
            self._last = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning and event.button() == Qt.MouseButton.MiddleButton:
            self._panning = False
            self.unsetCursor()
            return
        super().mouseReleaseEvent(event)
