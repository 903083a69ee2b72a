"""Turn the SVG icons of ``resources/`` into theme-aware QIcons.

Where ``resources/`` is lives in :mod:`logomesh_studio.resources` (Qt-free);
``resource_path`` and ``resources_dir`` are re-exported here for the panes.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPalette, QPixmap, QPixmapCache
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from logomesh_studio.resources import resource_path, resources_dir

__all__ = ["icon", "resource_path", "resources_dir", "stylesheet"]


class _SvgIconEngine(QIconEngine):
    """Paints an SVG whose ``currentColor`` follows the application palette.

    Monochrome icons recolour themselves when the palette switches between light and
    dark; coloured ones (status dots) have no ``currentColor`` and stay as drawn.
    """

    def __init__(self, name: str, svg: str) -> None:
        super().__init__()
        self._name = name
        self._svg = svg

    def _color(self, mode: QIcon.Mode) -> str:
        palette = QApplication.palette()
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else \
            QPalette.ColorGroup.Active
        role = QPalette.ColorRole.HighlightedText if mode == QIcon.Mode.Selected else \
            QPalette.ColorRole.WindowText
        return palette.color(group, role).name()

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        data = self._svg.replace("currentColor", self._color(mode))
        QSvgRenderer(QByteArray(data.encode())).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        key = f"lm-icon:{self._name}:{size.width()}x{size.height()}:{self._color(mode)}"
        cached = QPixmapCache.find(key)  # type: ignore[call-overload]  # PySide6's str overload
        if cached is not None and not cached.isNull():
            return cached
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        QPixmapCache.insert(key, pixmap)
        return pixmap

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._name, self._svg)

    def key(self) -> str:
        return "logomesh-svg"


@functools.cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``."""
    svg = resource_path("icons", f"{name}.svg").read_text(encoding="utf-8")
    return QIcon(_SvgIconEngine(name, svg))


def stylesheet() -> str:
    """The application style sheet (``resources/style.qss``), or "" if absent."""
    path = resource_path("style.qss")
    return path.read_text(encoding="utf-8") if path.is_file() else ""
