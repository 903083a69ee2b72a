"""Flame chart of a profile: time order, left heavy, sandwich and diff views.

Wheel zooms the time axis around the cursor (Shift+wheel scrolls rows), dragging
pans, a click zooms into a frame, hovering shows its times, a double-click asks to
open its source. Geometry comes from :mod:`.flame_layout` (numpy, no Qt) and one
:class:`._flame_item.FlameItem` paints it, so 100,000 frames stay interactive.
"""

from __future__ import annotations

import html
import math
import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from logomesh_studio.devtools.profiler import Profile
from logomesh_studio.studio.formatting import format_amount
from logomesh_studio.studio.widgets._flame_item import (
    MERGED_GROUP,
    FlameItem,
    FlamePalette,
    diff_groups,
    frame_groups,
)
from logomesh_studio.studio.widgets.flame_layout import (
    VIEWS,
    FlameLayout,
    FunctionTotals,
    StackMatrix,
    diff,
    empty_layout,
    function_totals,
    left_heavy,
    matching_frames,
    sandwich,
    stack_matrix,
    time_order,
)

VIEW_TITLES = {"time": "Time Order", "left-heavy": "Left Heavy", "sandwich": "Sandwich",
               "diff": "Diff"}
ORIENTATIONS = ("icicle", "flame")
DEFAULT_NOISE = 0.01
"""Diff changes smaller than this share of the profile are drawn grey."""


class TimeAxis(pg.AxisItem):
    """Ticks as ``250 ms`` / ``1.5 s`` rather than bare numbers."""

    unit = "seconds"

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        if self.unit != "seconds":
            return [format_amount(v, self.unit) for v in values]
        for factor, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if spacing >= factor or factor == 1e-6:
                digits = max(0, -math.floor(math.log10(spacing / factor))) if spacing > 0 else 0
                return [f"{v / factor:.{digits}f} {suffix}" for v in values]
        return [str(v) for v in values]


class FlameViewBox(pg.ViewBox):
    """Wheel zooms time only (Shift+wheel scrolls rows); left or middle drag pans."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False, defaultPadding=0.0)
        self.setMouseEnabled(x=True, y=True)

    def wheelEvent(self, ev, axis=None) -> None:
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            rows = -ev.delta() / 40.0
            self.translateBy(y=rows if self.yInverted() else -rows)
            ev.accept()
            return
        super().wheelEvent(ev, axis=0)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.MouseButton.RightButton:
            ev.ignore()
            return
        super().mouseDragEvent(ev, axis)


class FlameChart(QWidget):
    """A profile as a zoomable flame chart with search, selection and a diff view."""

    sig_open_source_requested = Signal(str, int)
    sig_function_clicked = Signal(int)  # frame index of the clicked frame
    sig_view_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._matrix: StackMatrix | None = None
        self._totals: FunctionTotals | None = None
        self._baseline: StackMatrix | None = None
        self._unit = "seconds"
        self._layouts: dict[tuple, FlameLayout] = {}
        self._frame_groups = np.zeros(0, dtype=np.int32)
        self._view = "left-heavy"
        self._orientation = "icicle"
        self._search = ""
        self._selected = -1
        self._threshold = DEFAULT_NOISE
        self._palettes: dict[str, FlamePalette] = {}
        self._summary = ""
        self._build()
        self._wire_signals()
        self._apply_palette()
        self.set_orientation(self._orientation)
        self._refresh(reset=True)

    def _build(self) -> None:
        self.view_box = FlameViewBox()
        self._axes = {"top": TimeAxis("top"), "bottom": TimeAxis("bottom")}
        self.plot = pg.PlotWidget(self, viewBox=self.view_box, axisItems=self._axes)
        self.plot.setObjectName("flame_plot")
        plot_item = self.plot.getPlotItem()
        plot_item.hideAxis("left")
        plot_item.hideButtons()
        plot_item.setMenuEnabled(False)
        plot_item.layout.setContentsMargins(2, 2, 6, 2)
        self.item = FlameItem()
        self.item.set_font(self.font())
        self.plot.addItem(self.item)
        self.info = QLabel(self)
        self.info.setObjectName("flame_info")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setContentsMargins(6, 2, 6, 3)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.info)

    def _wire_signals(self) -> None:
        self.item.sig_node_hovered.connect(self._on_item_node_hovered)
        self.item.sig_node_clicked.connect(self._on_item_node_clicked)
        self.item.sig_node_double_clicked.connect(self._on_item_node_double_clicked)
        self.view_box.sigResized.connect(self._on_view_box_resized)

    # -- content ----------------------------------------------------------------------------

    @property
    def layout_data(self) -> FlameLayout:
        """The rectangles of the current view."""
        return self.item.layout if self.item.layout is not None else empty_layout(self._view, [])

    @property
    def matrix(self) -> StackMatrix | None:
        """The loaded profile's samples; frame indices everywhere refer to its ``frames``."""
        return self._matrix

    @property
    def totals(self) -> FunctionTotals | None:
        """Self/total time per frame of :attr:`matrix`."""
        return self._totals

    @property
    def unit(self) -> str:
        return self._unit

    @property
    def view(self) -> str:
        return self._view

    @property
    def orientation(self) -> str:
        return self._orientation

    @property
    def selected_function(self) -> int:
        return self._selected

    @property
    def has_baseline(self) -> bool:
        return self._baseline is not None

    def set_profile(self, profile: Profile | None) -> None:
        """Show ``profile`` (None clears the chart); the selection is cleared."""
        self._matrix = stack_matrix(profile) if profile is not None else None
        self._totals = function_totals(self._matrix) if self._matrix is not None else None
        self._unit = profile.unit if profile is not None else "seconds"
        for axis in self._axes.values():
            axis.unit = self._unit
        self._frame_groups = frame_groups(self._matrix.frames) if self._matrix is not None \
            else np.zeros(0, dtype=np.int32)
        self._layouts.clear()
        self._selected = -1
        self._refresh(reset=True)

    def set_baseline(self, profile: Profile | None) -> None:
        """The profile the diff view compares against (None: no diff view)."""
        self._baseline = stack_matrix(profile) if profile is not None else None
        self._layouts.pop(("diff",), None)
        if self._view == "diff":
            self._refresh(reset=True)

    def set_view(self, view: str) -> None:
        """One of ``time``, ``left-heavy``, ``sandwich`` or ``diff``."""
        if view not in VIEWS:
            raise ValueError(f"unknown flame chart view {view!r} (one of {', '.join(VIEWS)})")
        if view != self._view:
            self._view = view
            self._refresh(reset=True)
            self.sig_view_changed.emit(view)

    def set_orientation(self, orientation: str) -> None:
        """``icicle``: callers on top, callees below; ``flame``: the root at the bottom."""
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be 'icicle' or 'flame', not {orientation!r}")
        self._orientation = orientation
        icicle = orientation == "icicle"
        self.view_box.invertY(icicle)
        plot_item = self.plot.getPlotItem()
        plot_item.showAxis("top", icicle)
        plot_item.showAxis("bottom", not icicle)
        self._fit_rows(reset=True)

    def set_selected_function(self, frame: int) -> None:
        """Highlight ``frame`` everywhere it appears; in the sandwich view, centre on it."""
        if frame == self._selected:
            return
        self._selected = frame
        if self._view == "sandwich":
            self._refresh(reset=True)
        else:
            self._update_emphasis()

    def set_search(self, text: str) -> int:
        """Dim frames that do not mention ``text``; returns how many frames match."""
        self._search = text.strip()
        return self._update_emphasis()

    def set_noise_threshold(self, fraction: float) -> None:
        """Diff changes below ``fraction`` of the profile's total are drawn as unchanged."""
        self._threshold = max(fraction, 0.0)
        if self._view == "diff":
            self.item.set_palette(self._palettes["diff"], self._groups(self.layout_data))
            self._show_summary()

    # -- zoom -------------------------------------------------------------------------------

    def zoom_to(self, x0: float, x1: float) -> None:
        self.view_box.setXRange(x0, x1, padding=0.0)

    def reset_zoom(self) -> None:
        """Show the whole view, roots in place."""
        self.zoom_to(0.0, self.layout_data.total or 1.0)
        self._fit_rows(reset=True)

    def visible_range(self) -> tuple[float, float]:
        x0, x1 = self.view_box.viewRange()[0]
        return float(x0), float(x1)

    def node_point(self, node: int) -> QPoint:
        """Where node ``node``'s visible middle is, in the plot's viewport coordinates."""
        layout = self.layout_data
        x0, x1 = self.visible_range()
        left = max(layout.start[node], x0)
        right = min(layout.start[node] + layout.width[node], x1)
        scene = self.view_box.mapViewToScene(QPointF((left + right) / 2,
                                                     layout.depth[node] + 0.5))
        return self.plot.mapFromScene(scene)

    # -- text -------------------------------------------------------------------------------

    def node_summary(self, node: int) -> str:
        """One line about ``node``: function, place, self and total time."""
        layout = self.layout_data
        frame = layout.frames[layout.frame[node]]
        whole = self._percent_base()
        fmt = self._format
        parts = [frame.name]
        if frame.file:
            parts.append(f"{os.path.basename(frame.file)}:{frame.line or '?'}")
        parts.append(f"self {fmt(layout.self_time[node])} ({_pct(layout.self_time[node], whole)})")
        parts.append(f"total {fmt(layout.width[node])} ({_pct(layout.width[node], whole)})")
        if layout.baseline is not None:
            before, change = layout.baseline[node], layout.width[node] - layout.baseline[node]
            parts.append(f"baseline {fmt(before)}, {'+' if change >= 0 else '−'}"
                         f"{fmt(abs(change))} ({_signed_pct(change, whole)} of the profile)")
        return " — ".join(parts[:2]) + ("  ·  " + "  ·  ".join(parts[2:]))

    def node_tooltip(self, node: int) -> str:
        """Rich text for the hover tooltip of ``node``."""
        layout = self.layout_data
        frame = layout.frames[layout.frame[node]]
        whole = self._percent_base()
        fmt = self._format
        where = f"{frame.file}:{frame.line}" if frame.file and frame.line else (frame.file or "")
        rows = [f"<b>{html.escape(frame.name)}</b>"]
        if where:
            rows.append(html.escape(where))
        rows.append(f"self {fmt(layout.self_time[node])} ({_pct(layout.self_time[node], whole)})"
                    f" &nbsp;·&nbsp; total {fmt(layout.width[node])} "
                    f"({_pct(layout.width[node], whole)})")
        if layout.baseline is not None and layout.baseline_self is not None:
            change = layout.width[node] - layout.baseline[node]
            rows.append(f"baseline: self {fmt(layout.baseline_self[node])} · total "
                        f"{fmt(layout.baseline[node])}")
            rows.append(f"change: {'+' if change >= 0 else '−'}{fmt(abs(change))} "
                        f"({_signed_pct(change, whole)} of the profile)")
        if frame.file and not frame.file.startswith("<"):
            rows.append("<i>double-click to open the source</i>")
        # white-space:pre keeps QToolTip from re-wrapping long paths at slashes.
        return "<p style='white-space:pre'>" + "<br>".join(rows) + "</p>"

    def _format(self, value: float) -> str:
        return format_amount(float(value), self._unit)

    def _percent_base(self) -> float:
        if self._view == "diff":
            return self.layout_data.total
        return self._matrix.total if self._matrix is not None else 0.0

    # -- internals --------------------------------------------------------------------------

    def _sandwich_frame(self) -> int:
        if self._selected >= 0:
            return self._selected
        totals = self._totals
        if totals is None or not len(totals.self_time):
            return -1
        return int(np.argmax(totals.self_time))

    def _current_layout(self) -> FlameLayout:
        matrix = self._matrix
        if matrix is None:
            return empty_layout(self._view, [])
        if self._view == "sandwich":
            key: tuple = ("sandwich", self._sandwich_frame())
            for old in [k for k in self._layouts if k[0] == "sandwich" and k != key]:
                del self._layouts[old]
        else:
            key = (self._view,)
        if key not in self._layouts:
            if self._view == "time":
                layout = time_order(matrix)
            elif self._view == "left-heavy":
                layout = left_heavy(matrix)
            elif self._view == "sandwich":
                layout = sandwich(matrix, key[1]) if key[1] >= 0 else \
                    empty_layout("sandwich", matrix.frames)
            elif self._baseline is not None:
                layout = diff(self._baseline, matrix)
            else:
                layout = empty_layout("diff", matrix.frames)
            self._layouts[key] = layout
        return self._layouts[key]

    def _groups(self, layout: FlameLayout) -> np.ndarray:
        if layout.kind == "diff":
            if layout.delta is None:
                return np.zeros(len(layout), dtype=np.int32)
            return diff_groups(layout.delta, layout.total, self._threshold)
        return self._frame_groups[layout.frame]

    def _merged_group(self, layout: FlameLayout) -> int:
        return 0 if layout.kind == "diff" else MERGED_GROUP

    def _palette_for(self, layout: FlameLayout) -> FlamePalette:
        return self._palettes["diff" if layout.kind == "diff" else "functions"]

    def _refresh(self, reset: bool) -> None:
        layout = self._current_layout()
        self.item.set_content(layout, self._groups(layout), self._palette_for(layout),
                              self._merged_group(layout))
        self.item.setToolTip("")
        total = layout.total or 1.0
        self.view_box.setLimits(xMin=0.0, xMax=total, minXRange=total * 1e-6, maxXRange=total)
        self._update_emphasis()
        if reset:
            self.reset_zoom()
        self._show_summary()

    def _update_emphasis(self) -> int:
        layout = self.layout_data
        outlined = self._selected if self._view != "sandwich" else -1
        if not self._search and outlined < 0:
            self.item.set_emphasis(None)
            return 0
        wanted = matching_frames(layout.frames, self._search) if self._search else \
            np.zeros(len(layout.frames), dtype=bool)
        matches = int(wanted[layout.frame].sum()) if self._search else 0
        if 0 <= outlined < len(wanted):
            wanted[outlined] = True
        self.item.set_emphasis(wanted[layout.frame], outlined)
        return matches

    def _fit_rows(self, reset: bool) -> None:
        """Keep rows a fixed number of pixels tall whatever the widget's height."""
        layout = self.layout_data
        rows = max(self.view_box.height(), 40.0) / self._row_px()
        low = (layout.min_depth if len(layout) else 0) - 0.25
        span = max(layout.max_depth - layout.min_depth + 1.5 if len(layout) else 1.0, rows)
        self.view_box.setLimits(yMin=low, yMax=low + span, minYRange=rows, maxYRange=rows)
        y0 = low if reset else min(self.view_box.viewRange()[1])
        y0 = min(max(y0, low), low + span - rows)
        self.view_box.setYRange(y0, y0 + rows, padding=0.0)

    def _row_px(self) -> float:
        return float(self.fontMetrics().height() + 6)

    def _show_summary(self) -> None:
        layout = self.layout_data
        title = VIEW_TITLES.get(self._view, self._view)
        if self._matrix is None:
            text = "Open a .speedscope.json file or record the runtime to see a flame chart."
        elif self._view == "diff" and self._baseline is None:
            text = "Diff: compare with another profile to colour frames by how their time changed."
        elif self._view == "diff":
            text = (f"Diff · red: slower than the baseline, blue: faster · changes under "
                    f"{self._threshold:.1%} of the profile are grey · width: this profile")
        elif self._view == "sandwich" and len(layout):
            name = layout.frames[layout.frame[layout.row(0).start]].name
            above = "above" if self._orientation == "icicle" else "below"
            below = "below" if self._orientation == "icicle" else "above"
            text = f"Sandwich of {name}: callers {above}, callees {below}"
        else:
            text = f"{title} · {len(layout):,} frames · {self._format(layout.total)}"
        self._summary = text
        self.info.setText(text)

    def _apply_palette(self) -> None:
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        dark = background.lightness() < 128
        if dark:
            accent = QColor(accent).lighter(150)
        self.plot.setBackground(background)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        for axis in self._axes.values():
            axis.setPen(pg.mkPen(muted))
            axis.setTextPen(pg.mkPen(text))
        self._palettes = {
            "functions": FlamePalette.functions(dark, background, text, accent),
            "diff": FlamePalette.diff(dark, background, text, accent),
        }
        layout = self.item.layout
        if layout is not None:
            self.item.set_palette(self._palette_for(layout))

    # -- slots ------------------------------------------------------------------------------

    def _on_item_node_hovered(self, node: int) -> None:
        if node < 0:
            self.item.setToolTip("")
            self.info.setText(self._summary)
        else:
            self.item.setToolTip(self.node_tooltip(node))
            self.info.setText(self.node_summary(node))

    def _on_item_node_clicked(self, node: int) -> None:
        layout = self.layout_data
        self.zoom_to(float(layout.start[node]), float(layout.start[node] + layout.width[node]))
        frame = int(layout.frame[node])
        if self._matrix is not None and frame < len(self._matrix.frames):
            self.sig_function_clicked.emit(frame)

    def _on_item_node_double_clicked(self, node: int) -> None:
        layout = self.layout_data
        frame = layout.frames[layout.frame[node]]
        if frame.file and not frame.file.startswith("<"):
            self.sig_open_source_requested.emit(frame.file, frame.line or 1)

    def _on_view_box_resized(self) -> None:
        self._fit_rows(reset=False)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        elif event.type() == QEvent.Type.FontChange:
            self.item.set_font(self.font())
            self._fit_rows(reset=False)


def _pct(value: float, whole: float) -> str:
    return f"{100.0 * value / whole:.1f}%" if whole > 0 else "–"


def _signed_pct(value: float, whole: float) -> str:
    return f"{100.0 * value / whole:+.1f}%" if whole > 0 else "–"
