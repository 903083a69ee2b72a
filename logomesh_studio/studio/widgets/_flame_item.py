"""The flame chart's one graphics item: culls a layout and paints it with ``drawRects``.

pyqtgraph would need over a minute to build 100,000 QGraphicsRectItems; this item
keeps the layout as arrays, asks it for what is visible at the current zoom (sub-pixel
frames merged), writes device-pixel rectangles into one numpy buffer sorted by colour,
and hands each colour's slice to ``QPainter.drawRects`` as a pointer and a count.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen

from logomesh_studio.devtools.profiler import Frame
from logomesh_studio.studio.widgets.flame_layout import FlameLayout

HUES = 12
IDLE_GROUP = 2 * HUES
MERGED_GROUP = IDLE_GROUP + 1
DIFF_LEVELS = 6
LABEL_MIN_PX = 28
PADDING_PX = 4
_RECT_BYTES = 4 * 8  # a QRectF is four doubles, the layout of one buffer row


def frame_groups(frames: Sequence[Frame]) -> np.ndarray:
    """Colour group per frame: the hue follows the file, the shade the function name."""
    groups = np.empty(len(frames), dtype=np.int32)
    for i, frame in enumerate(frames):
        if frame.name == "[idle]":
            groups[i] = IDLE_GROUP
            continue
        hue = zlib.crc32((frame.file or frame.name.split(".")[0]).encode()) % HUES
        groups[i] = 2 * hue + zlib.crc32(frame.name.encode()) % 2
    return groups


def diff_groups(delta: np.ndarray, total: float, threshold: float) -> np.ndarray:
    """Diff colour group per node: 0 within ``threshold`` (a fraction of the total),
    1..DIFF_LEVELS slower (red), DIFF_LEVELS+1.. faster (blue), stronger further out."""
    share = delta / total if total > 0 else np.zeros_like(delta)
    size = np.abs(share)
    top = max(float(size.max(initial=0.0)), threshold * 1.0001)
    level = 1 + np.floor((DIFF_LEVELS - 1) * np.clip((size - threshold) / (top - threshold),
                                                       0, 1)).astype(np.int32)
    groups = np.where(share > 0, level, level + DIFF_LEVELS)
    return np.where(size < threshold, 0, groups).astype(np.int32)


def _blend(color: QColor, other: QColor, amount: float) -> QColor:
    return QColor.fromRgbF(*(a + (b - a) * amount for a, b in zip(
        _rgb(color), _rgb(other), strict=True)))


def _rgb(color: QColor) -> tuple[float, float, float]:
    return color.redF(), color.greenF(), color.blueF()


def _text_for(fill: QColor, dark_text: QColor, light_text: QColor) -> QColor:
    r, g, b = _rgb(fill)
    return dark_text if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else light_text


@dataclass(frozen=True)
class FlamePalette:
    """Fill and text colour per group; groups ``n..2n`` are the dimmed copies."""

    fills: list[QBrush]
    texts: list[QPen]
    accent: QColor
    hover: QColor

    @property
    def size(self) -> int:
        return len(self.fills) // 2

    @classmethod
    def build(cls, fills: list[QColor], background: QColor, text: QColor, dark: bool,
              accent: QColor) -> FlamePalette:
        dark_text, light_text = QColor("#1f2328"), QColor("#eef0f3")
        texts = [_text_for(f, dark_text, light_text) for f in fills]
        dim_fills = [_blend(f, background, 0.72) for f in fills]
        dim_texts = [_blend(t, background, 0.55) for t in texts]
        return cls([QBrush(c) for c in fills + dim_fills],
                   [QPen(c) for c in texts + dim_texts], accent, text)

    @classmethod
    def functions(cls, dark: bool, background: QColor, text: QColor,
                  accent: QColor) -> FlamePalette:
        """Hues per file, two shades per hue, grey for idle."""
        fills = []
        for hue in range(HUES):
            h = (hue * 5 % HUES) / HUES  # neighbours in file order get distant hues
            for shade in (0, 1):
                if dark:
                    fills.append(QColor.fromHslF(h, 0.42, 0.34 - 0.05 * shade))
                else:
                    fills.append(QColor.fromHslF(h, 0.62, 0.80 - 0.06 * shade))
        fills.append(QColor("#3d424a" if dark else "#d5d9df"))  # idle
        fills.append(QColor("#4a505a" if dark else "#c3c8d0"))  # merged sub-pixel frames
        return cls.build(fills, background, text, dark, accent)

    @classmethod
    def diff(cls, dark: bool, background: QColor, text: QColor, accent: QColor) -> FlamePalette:
        """Grey within the noise threshold, red for slower, blue for faster."""
        fills = [QColor("#3a3f47" if dark else "#dfe2e7")]
        for hue in (0.0, 0.6):
            for level in range(DIFF_LEVELS):
                t = level / max(DIFF_LEVELS - 1, 1)
                if dark:
                    fills.append(QColor.fromHslF(hue, 0.45 + 0.3 * t, 0.30 + 0.16 * t))
                else:
                    fills.append(QColor.fromHslF(hue, 0.70 + 0.1 * t, 0.86 - 0.30 * t))
        return cls.build(fills, background, text, dark, accent)


class FlameItem(pg.GraphicsObject):
    """Draws a :class:`FlameLayout`; reports hovered, clicked and double-clicked nodes."""

    sig_node_hovered = Signal(int)  # node index, -1 when none
    sig_node_clicked = Signal(int)
    sig_node_double_clicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.layout: FlameLayout | None = None
        self._groups = np.zeros(0, dtype=np.int32)
        self._merged_group = 0
        self._palette: FlamePalette | None = None
        self._emphasis: np.ndarray | None = None
        self._outlined_frame = -1
        self._hovered = -1
        self._font = QFont()
        self._metrics = QFontMetrics(self._font)
        self._elided: dict[tuple[int, int], str] = {}
        self.last_paint: dict[str, float] = {}

    # -- content ----------------------------------------------------------------------------

    @property
    def groups(self) -> np.ndarray:
        """Colour group per node of the layout."""
        return self._groups

    @property
    def colors(self) -> FlamePalette | None:
        return self._palette

    @property
    def emphasis(self) -> np.ndarray | None:
        """Per node: drawn at full colour (True) or dimmed; None when nothing is dimmed."""
        return self._emphasis

    @property
    def outlined_frame(self) -> int:
        return self._outlined_frame

    def set_content(self, layout: FlameLayout | None, groups: np.ndarray,
                    palette: FlamePalette, merged_group: int) -> None:
        """Show ``layout`` with colour group ``groups[node]`` per node and ``merged_group``
        for runs of merged sub-pixel frames."""
        self.prepareGeometryChange()
        self.layout = layout
        self._groups = groups
        self._merged_group = merged_group
        self._palette = palette
        self._emphasis = None
        self._hovered = -1
        self._elided.clear()
        self.update()

    def set_palette(self, palette: FlamePalette, groups: np.ndarray | None = None,
                    merged_group: int | None = None) -> None:
        self._palette = palette
        if groups is not None:
            self._groups = groups
        if merged_group is not None:
            self._merged_group = merged_group
        self.update()

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self._metrics = QFontMetrics(self._font)
        self._elided.clear()
        self.update()

    def set_emphasis(self, emphasis: np.ndarray | None, outlined_frame: int = -1) -> None:
        """Dim every node where ``emphasis`` is False (None: nothing dimmed); outline the
        nodes of ``outlined_frame``."""
        self._emphasis = emphasis
        self._outlined_frame = outlined_frame
        self.update()

    def set_hovered(self, node: int) -> None:
        if node != self._hovered:
            self._hovered = node
            self.update()

    def node_at(self, pos: QPointF) -> int:
        layout = self.layout
        if layout is None:
            return -1
        return layout.node_at(pos.x(), int(np.floor(pos.y())))

    # -- QGraphicsItem ----------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        layout = self.layout
        if layout is None or not len(layout):
            return QRectF()
        return QRectF(0.0, layout.min_depth, max(layout.total, 1e-12),
                      layout.max_depth - layout.min_depth + 1)

    def hoverEvent(self, ev) -> None:
        node = -1 if ev.isExit() else self.node_at(ev.pos())
        if node != self._hovered:
            self.set_hovered(node)
            self.sig_node_hovered.emit(node)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        node = self.node_at(ev.pos())
        if node < 0:
            return
        ev.accept()
        if ev.double():
            self.sig_node_double_clicked.emit(node)
        else:
            self.sig_node_clicked.emit(node)

    def paint(self, painter: QPainter, *args) -> None:
        layout, palette, view = self.layout, self._palette, self.getViewBox()
        if layout is None or palette is None or view is None or not len(layout):
            return
        began = time.perf_counter()
        (x0, x1), (y0, y1) = view.viewRange()
        transform = painter.transform()
        sx, sy, dx, dy = transform.m11(), transform.m22(), transform.dx(), transform.dy()
        if sx <= 0 or sy == 0:
            return
        culled = layout.cull(x0, x1, 1.0 / sx, min(y0, y1) - 1, max(y0, y1) + 1,
                             self._emphasis)
        nodes = culled.nodes
        right = painter.viewport().width() + 2.0
        row_h = abs(sy)

        def columns(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.clip(starts * sx + dx, -2.0, right), np.clip(ends * sx + dx, -2.0, right)

        def tops(depths: np.ndarray) -> np.ndarray:
            return depths * sy + dy + (sy if sy < 0 else 0.0)

        mx0, mx1 = columns(culled.merged_start, culled.merged_end)
        nx0, nx1 = columns(layout.start[nodes], layout.start[nodes] + layout.width[nodes])
        left = np.concatenate([mx0, nx0])
        width = np.concatenate([mx1, nx1]) - left
        width = np.where(width >= 3.0, width - 1.0, width)
        top = np.concatenate([tops(culled.merged_depth), tops(layout.depth[nodes])])
        dim = palette.size
        merged = np.full(len(mx0), self._merged_group, dtype=np.int64)
        if self._emphasis is None:
            keys = np.concatenate([merged, self._groups[nodes]])
        else:
            keys = np.concatenate([merged + dim * ~culled.merged_emphasis,
                                   self._groups[nodes] + dim * ~self._emphasis[nodes]])
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        buffer = np.empty((len(keys), 4), dtype=np.float64)
        buffer[:, 0] = left[order]
        buffer[:, 1] = top[order]
        buffer[:, 2] = width[order]
        buffer[:, 3] = row_h - 1.0 if row_h >= 4 else row_h
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        cuts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1, len(keys)]
        address = buffer.ctypes.data
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if b > a:
                painter.setBrush(palette.fills[keys[a]])
                rects = shiboken6.wrapInstance(address + int(a) * _RECT_BYTES, QRectF)
                # drawRects(const QRectF *rects, int count) over numpy's buffer
                painter.drawRects(rects, int(b - a))  # type: ignore[call-overload]
        node_tops = tops(layout.depth[nodes])
        labels = self._paint_labels(painter, layout, nodes, nx0, nx1, node_tops, row_h, right,
                                    palette)
        self._paint_outlines(painter, layout, nodes, nx0, nx1, node_tops, row_h, palette)
        self.last_paint = {"rects": float(len(nodes)), "merged": float(len(mx0)),
                           "labels": float(labels),
                           "ms": (time.perf_counter() - began) * 1e3}

    def _paint_labels(self, painter: QPainter, layout: FlameLayout, nodes: np.ndarray, x0: np.ndarray,
                      x1: np.ndarray, top: np.ndarray, row_h: float, right: float,
                      palette: FlamePalette) -> int:
        metrics = self._metrics
        if row_h < metrics.height() - 2:
            return 0
        visible_left = np.maximum(x0, 0.0)
        room = np.minimum(x1, right - 2.0) - visible_left - 2 * PADDING_PX
        chosen = np.flatnonzero(room >= LABEL_MIN_PX)
        if not len(chosen):
            return 0
        frames = layout.frame[nodes[chosen]]
        dim = palette.size
        keys = self._groups[nodes[chosen]]
        if self._emphasis is not None:
            keys = keys + dim * ~self._emphasis[nodes[chosen]]
        baseline = (row_h + metrics.ascent() - metrics.descent()) / 2.0
        painter.setFont(self._font)
        names = layout.frames
        cache = self._elided
        if len(cache) > 50_000:
            cache.clear()
        drawn = 0
        pen_key = -1
        for i, frame, key in zip(chosen.tolist(), frames.tolist(), keys.tolist(), strict=True):
            space = int(room[i]) // 6 * 6
            text = cache.get((frame, space))
            if text is None:
                text = metrics.elidedText(names[frame].name, Qt.TextElideMode.ElideRight, space)
                cache[(frame, space)] = text
            if not text or text == "…":
                continue
            if key != pen_key:
                painter.setPen(palette.texts[key])
                pen_key = key
            painter.drawText(QPointF(visible_left[i] + PADDING_PX, top[i] + baseline), text)
            drawn += 1
        return drawn

    def _paint_outlines(self, painter: QPainter, layout: FlameLayout, nodes: np.ndarray, x0: np.ndarray,
                        x1: np.ndarray, top: np.ndarray, row_h: float,
                        palette: FlamePalette) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._outlined_frame >= 0 and len(nodes):
            pen = QPen(palette.accent, 2)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            for i in np.flatnonzero(layout.frame[nodes] == self._outlined_frame)[:2000]:
                painter.drawRect(QRectF(x0[i] + 1, top[i] + 1, max(x1[i] - x0[i] - 3, 1),
                                        row_h - 3))
        if self._hovered >= 0:
            hit = np.flatnonzero(nodes == self._hovered)
            if len(hit):
                i = int(hit[0])
                painter.setPen(QPen(palette.hover, 1))
                painter.drawRect(QRectF(x0[i], top[i], max(x1[i] - x0[i] - 2, 1), row_h - 2))
