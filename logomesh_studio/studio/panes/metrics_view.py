"""The Metrics view: one plugin's figures, per message type, with sparklines.

While shown, it reads the selected plugin's metrics through the client once a second
and draws the last minute of its call rate, p95 latency and CPU share as sparklines
(pyqtgraph, imported when the view is first shown: the window opens without it).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.studio import theme
from logomesh_studio.studio.client import ClientState, RuntimeClient
from logomesh_studio.studio.formatting import human_duration, human_size

if TYPE_CHECKING:
    from logomesh_studio.devtools.metrics import PluginMetrics

POLL_MS = 1000
"""How often the shown plugin's metrics are read."""
HISTORY = 60
"""Points each sparkline keeps (a minute at one a second)."""
SPARKS = (("rate", "calls/s"), ("p95", "p95 ms"), ("cpu", "CPU %"))
TYPE_COLUMNS = ("Type", "Calls", "Errors", "p50", "p95", "p99", "In", "Out", "Loop")


def duration(seconds: float) -> str:
    """A latency for people; '-' when there is none yet."""
    return human_duration(seconds) if seconds > 0 else "-"


class MetricsView(QWidget):
    """A plugin picker, its figures, its message types, and three sparklines."""

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metrics_view")
        self.client = client
        self.history: dict[str, deque[tuple[float, float, float, float]]] = {}
        """Per plugin: (time, calls/s, p95 s, CPU share) points, newest last."""
        self._last_calls: dict[str, tuple[float, int]] = {}
        self._curves: dict[str, Any] = {}
        self._titles: dict[str, tuple[Any, str]] = {}
        self._reading = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._build()
        self._wire_signals()

    def _build(self) -> None:
        self.plugin_combo = QComboBox(self)
        self.plugin_combo.setObjectName("metrics_plugin_combo")
        self.plugin_combo.setMinimumContentsLength(16)
        self.memory_check = QCheckBox("Trace memory", self)
        self.memory_check.setObjectName("metrics_memory_check")
        self.memory_check.setToolTip("Trace allocations (tracemalloc) to show the memory each "
                                     "plugin's code holds; slows every allocation while on")
        top = QHBoxLayout()
        top.addWidget(QLabel("Plugin:", self))
        top.addWidget(self.plugin_combo, 1)
        top.addWidget(self.memory_check)
        self.figures: dict[str, QLabel] = {}
        form = QGridLayout()
        names = ("calls", "rate", "errors", "p50", "p95", "p99", "in", "out", "loop", "cpu",
                 "sent", "memory")
        for i, name in enumerate(names):
            label = QLabel("-", self)
            label.setObjectName(f"metric_{name}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.figures[name] = label
            cell = QFormLayout()
            cell.addRow(f"{name}:", label)
            form.addLayout(cell, i // 6, i % 6)
        self.sparks = QWidget(self)
        self.sparks.setObjectName("metrics_sparklines")
        self.spark_layout = QHBoxLayout(self.sparks)
        self.spark_layout.setContentsMargins(0, 0, 0, 0)
        self.types_model = QStandardItemModel(0, len(TYPE_COLUMNS), self)
        self.types_model.setHorizontalHeaderLabels(list(TYPE_COLUMNS))
        self.types = QTableView(self)
        self.types.setObjectName("metrics_types_table")
        self.types.setModel(self.types_model)
        self.types.verticalHeader().hide()
        self.types.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.types.horizontalHeader().setStretchLastSection(True)
        self.types.horizontalHeader().setDefaultSectionSize(78)
        self.empty = QLabel("Metrics appear once the workspace runs and plugins exchange "
                            "messages.", self)
        self.empty.setObjectName("metrics_empty")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.sparks)
        layout.addWidget(self.types, 1)
        layout.addWidget(self.empty)

    def _wire_signals(self) -> None:
        self._timer.timeout.connect(self._on_timer_timeout)
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_state_changed.connect(self._on_client_state_changed)
        self.plugin_combo.currentIndexChanged.connect(self._on_plugin_combo_changed)
        self.memory_check.toggled.connect(self._on_memory_check_toggled)

    # -- public -----------------------------------------------------------------------------

    @property
    def plugin(self) -> str:
        """The plugin shown ('' when none)."""
        return self.plugin_combo.currentText()

    def select_plugin(self, plugin_id: str) -> None:
        """Show ``plugin_id``'s metrics."""
        index = self.plugin_combo.findText(plugin_id)
        if index < 0:
            self.plugin_combo.addItem(plugin_id)
            index = self.plugin_combo.count() - 1
        self.plugin_combo.setCurrentIndex(index)

    def show_metrics(self, metrics: PluginMetrics | None) -> None:
        """Fill the figures and the types table, and add a point to the sparklines."""
        if metrics is None:
            return
        f = self.figures
        f["calls"].setText(str(metrics.calls))
        f["rate"].setText(f"{metrics.rate:.1f}/s")
        f["errors"].setText(str(metrics.errors))
        f["p50"].setText(duration(metrics.p50))
        f["p95"].setText(duration(metrics.p95))
        f["p99"].setText(duration(metrics.p99))
        f["in"].setText(human_size(metrics.payload_bytes))
        f["out"].setText(human_size(metrics.response_bytes))
        f["loop"].setText(duration(metrics.held_s))
        f["cpu"].setText(f"{metrics.cpu:.0%}")
        f["sent"].setText(str(metrics.sent))
        f["memory"].setText("-" if metrics.memory_bytes is None else human_size(metrics.memory_bytes))
        self.types_model.setRowCount(0)
        for t in metrics.types:
            self.types_model.appendRow([_cell(v) for v in (
                t.type, t.calls, t.errors, duration(t.p50), duration(t.p95), duration(t.p99),
                human_size(t.payload_bytes), human_size(t.response_bytes), duration(t.held_s))])
        self.empty.setVisible(not metrics.calls and not metrics.sent)
        self._add_point(metrics)

    # -- sparklines -------------------------------------------------------------------------

    def _add_point(self, metrics: PluginMetrics) -> None:
        import time

        now = time.monotonic()
        before = self._last_calls.get(metrics.plugin)
        self._last_calls[metrics.plugin] = (now, metrics.calls)
        if before is None:
            return  # a rate needs two readings
        rate = (metrics.calls - before[1]) / max(now - before[0], 1e-3)
        points = self.history.setdefault(metrics.plugin, deque(maxlen=HISTORY))
        points.append((now, rate, metrics.p95, metrics.cpu))
        self._draw()

    def _draw(self) -> None:
        points = self.history.get(self.plugin)
        if not self._curves or not points:
            return
        start = points[0][0]
        xs = [p[0] - start for p in points]
        series = {"rate": [p[1] for p in points], "p95": [p[2] * 1000 for p in points],
                  "cpu": [p[3] * 100 for p in points]}
        for name, ys in series.items():
            self._curves[name].setData(xs, ys)
            plot, title = self._titles[name]
            plot.setTitle(f"{title}: {_figure(ys[-1])} (max {_figure(max(ys))})", size="8pt")

    def _build_sparklines(self) -> None:
        import pyqtgraph as pg  # here, not at import: the window opens without it

        pen = pg.mkPen(theme.color("accent"), width=1.5)
        for name, title in SPARKS:
            plot = pg.PlotWidget(self.sparks, background=None)
            plot.setObjectName(f"spark_{name}")
            plot.setFixedHeight(64)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            item = plot.getPlotItem()
            item.hideAxis("bottom")
            item.hideAxis("left")
            item.setContentsMargins(2, 2, 2, 2)
            self._curves[name] = plot.plot([], [], pen=pen, fillLevel=0,
                                           brush=pg.mkBrush(theme.color("accent").lighter(170)))
            self._titles[name] = (plot, title)
            plot.setTitle(title, size="8pt")
            self.spark_layout.addWidget(plot)
        self._draw()

    # -- events -----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if not self._curves:
            self._build_sparklines()
        if self.client.state == ClientState.RUNNING:
            self._timer.start()
            self._on_timer_timeout()

    def _on_client_state_changed(self, state: str) -> None:
        if state == ClientState.RUNNING and self.isVisible():
            self._timer.start()
        elif state != ClientState.RUNNING:
            self._timer.stop()
            self.history.clear()
            self._last_calls.clear()

    def _on_client_plugins_listed(self, infos: list) -> None:
        current = self.plugin
        self.plugin_combo.blockSignals(True)
        self.plugin_combo.clear()
        self.plugin_combo.addItems([info.id for info in infos])
        self.plugin_combo.blockSignals(False)
        if current:
            self.select_plugin(current)
        elif infos:
            self.plugin_combo.setCurrentIndex(0)

    def _on_plugin_combo_changed(self, index: int) -> None:
        self._draw_or_clear()
        self._on_timer_timeout()

    def _draw_or_clear(self) -> None:
        if self.plugin not in self.history:
            for curve in self._curves.values():
                curve.setData([], [])
        self._draw()

    def _on_timer_timeout(self) -> None:
        plugin = self.plugin
        if self._reading or not plugin or self.client.state != ClientState.RUNNING \
                or not self.isVisible():
            return
        self._reading = True
        task = self.client.spawn(self.client.metrics(plugin), "read metrics",
                                 lambda snapshot: self.show_metrics(snapshot.plugin(plugin)))
        task.add_done_callback(lambda _: setattr(self, "_reading", False))

    def _on_memory_check_toggled(self, on: bool) -> None:
        if self.client.state == ClientState.RUNNING:
            self.client.spawn(self.client.trace_memory(on), "trace memory")


def _figure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _cell(value: object) -> QStandardItem:
    item = QStandardItem(str(value))
    if isinstance(value, int):
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
