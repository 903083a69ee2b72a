"""Functions of a profile with self time, total time and samples, sortable and searchable.

Rows are plain :class:`FunctionRow` records; a :class:`QSortFilterProxyModel` sorts
on the numbers (not their text) and filters on name and file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from logomesh_studio.devtools.profiler import Frame
from logomesh_studio.studio.formatting import format_amount
from logomesh_studio.studio.widgets.flame_layout import FunctionTotals
from logomesh_studio.studio.widgets.item_models import TableModel

SORT_ROLE = Qt.ItemDataRole.UserRole
FRAME_ROLE = Qt.ItemDataRole.UserRole + 1
FILTER_ROLE = Qt.ItemDataRole.UserRole + 2
SHARE_ROLE = Qt.ItemDataRole.UserRole + 3
_Index = QModelIndex | QPersistentModelIndex
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
MAX_COLUMN_WIDTH = 480
"""Columns fit their widest text up to this many pixels; longer names are elided."""
_CELL_PADDING = 16
_SORT_ARROW = 22


@dataclass(frozen=True)
class FunctionRow:
    """One function's times; ``frame`` indexes the flame chart's frames."""

    frame: int
    name: str
    file: str | None
    line: int | None
    self_time: float
    total_time: float
    samples: int


def function_rows(frames: Sequence[Frame], totals: FunctionTotals) -> list[FunctionRow]:
    """A row per function that appears in at least one sample."""
    return [FunctionRow(i, frames[i].name, frames[i].file, frames[i].line,
                        float(totals.self_time[i]), float(totals.total_time[i]),
                        int(totals.samples[i]))
            for i in map(int, np.flatnonzero(totals.samples))]


class FunctionTableModel(TableModel):
    """Function rows; numbers sort by value through :data:`SORT_ROLE`."""

    HEADERS = ("Self", "Total", "Samples", "Function", "Location")
    SELF, TOTAL, SAMPLES, NAME, LOCATION = range(5)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[FunctionRow] = []
        self._whole = 0.0
        self._unit = "seconds"

    def set_rows(self, rows: list[FunctionRow], whole: float, unit: str = "seconds") -> None:
        """Replace the rows; percentages are of ``whole``."""
        self.beginResetModel()
        self._rows = rows
        self._whole = whole
        self._unit = unit
        self.endResetModel()

    def row(self, index: int) -> FunctionRow:
        return self._rows[index]

    @property
    def rows(self) -> list[FunctionRow]:
        return self._rows

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            # Centred: the sort arrow sits on the right and would cover right-aligned text.
            return Qt.AlignmentFlag.AlignCenter if section <= self.SAMPLES else \
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        return super().headerData(section, orientation, role)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, column)
        if role == SORT_ROLE:
            return (r.self_time, r.total_time, r.samples, r.name.lower(),
                    f"{r.file or ''}:{r.line or 0:09d}")[column]
        if role == FRAME_ROLE:
            return r.frame
        if role == SHARE_ROLE and column in (self.SELF, self.TOTAL):
            return self._share(r.self_time if column == self.SELF else r.total_time)
        if role == FILTER_ROLE:
            return f"{r.name} {r.file or ''}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column <= self.SAMPLES:
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"{r.file}:{r.line}" if r.file else "(no source file)"
            return (f"{r.name}\n{where}\nself {self._amount(r.self_time)}, total "
                    f"{self._amount(r.total_time)} in {r.samples:,} samples\n"
                    "double-click to open the source")
        return None

    def _share(self, value: float) -> float:
        return value / self._whole if self._whole > 0 else 0.0

    def _amount(self, value: float) -> str:
        return f"{format_amount(value, self._unit)} ({100 * self._share(value):.1f}%)"

    def texts(self, column: int) -> list[str]:
        """Every row's text in ``column`` (to size the column)."""
        return [self._text(r, column) for r in self._rows]

    def _text(self, r: FunctionRow, column: int) -> str:
        if column == self.SELF:
            return format_amount(r.self_time, self._unit)
        if column == self.TOTAL:
            return format_amount(r.total_time, self._unit)
        if column == self.SAMPLES:
            return f"{r.samples:,}"
        if column == self.NAME:
            return r.name
        return f"{os.path.basename(r.file)}:{r.line or '?'}" if r.file else ""


class ShareBarDelegate(QStyledItemDelegate):
    """Draws a faint bar behind a time, as long as its share of the profile."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: _Index) -> None:
        share = index.data(SHARE_ROLE)
        if share:
            bar = QRectF(option.rect).adjusted(2, 3, -2, -3)
            bar.setWidth(bar.width() * min(float(share), 1.0))
            color = QColor(option.palette.color(QPalette.ColorRole.Highlight))
            color.setAlphaF(0.28)
            painter.fillRect(bar, color)
        super().paint(painter, option, index)


class FunctionTable(QTableView):
    """Sortable, filterable view of a :class:`FunctionTableModel`; hottest self time first."""

    sig_function_selected = Signal(int)  # frame index, -1 when the selection is cleared
    sig_open_source_requested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_model = FunctionTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterRole(FILTER_ROLE)
        self.proxy.setFilterKeyColumn(FunctionTableModel.NAME)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(FunctionTableModel.SELF, Qt.SortOrder.DescendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        self._bars = ShareBarDelegate(self)
        for column in (FunctionTableModel.SELF, FunctionTableModel.TOTAL):
            self.setItemDelegateForColumn(column, self._bars)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)  # Location takes what is left; nothing is squeezed
        self.fit_columns()
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.selectionModel().currentRowChanged.connect(self._on_selection_current_changed)
        self.doubleClicked.connect(self._on_self_double_clicked)

    def set_rows(self, rows: list[FunctionRow], whole: float, unit: str = "seconds") -> None:
        self.source_model.set_rows(rows, whole, unit)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Size each column to its header and widest cell (at most MAX_COLUMN_WIDTH): the
        table scrolls sideways rather than cutting "Function" to "Fu"."""
        metrics, header = self.fontMetrics(), self.horizontalHeader()
        model = self.source_model
        samples = {FunctionTableModel.SELF: "999.9 ms", FunctionTableModel.TOTAL: "999.9 ms",
                   FunctionTableModel.SAMPLES: "99,999"}
        for column in range(model.columnCount()):
            title = str(model.headerData(column, Qt.Orientation.Horizontal))
            texts = [samples.get(column, ""), *model.texts(column)]
            widest = max(metrics.horizontalAdvance(t) for t in texts)
            header_width = header.fontMetrics().horizontalAdvance(title) + _SORT_ARROW
            header.resizeSection(column, min(max(widest + _CELL_PADDING, header_width),
                                             MAX_COLUMN_WIDTH))

    def set_filter(self, text: str) -> None:
        """Show only functions whose name or file contains ``text``."""
        self.proxy.setFilterFixedString(text.strip())

    def frame_at(self, row: int) -> int:
        """Frame index of the function shown at (proxy) ``row``."""
        return int(self.proxy.index(row, FunctionTableModel.NAME).data(FRAME_ROLE))

    def select_frame(self, frame: int) -> bool:
        """Select and show the row of ``frame`` without reporting it; False if filtered out."""
        for row in range(self.proxy.rowCount()):
            if self.frame_at(row) == frame:
                self.blockSignals(True)
                try:
                    self.selectRow(row)
                finally:
                    self.blockSignals(False)
                self.scrollTo(self.proxy.index(row, FunctionTableModel.NAME))
                return True
        return False

    def _on_selection_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not self.signalsBlocked():
            self.sig_function_selected.emit(int(current.data(FRAME_ROLE))
                                            if current.isValid() else -1)

    def _on_self_double_clicked(self, index: QModelIndex) -> None:
        r = self.source_model.row(self.proxy.mapToSource(index).row())
        if r.file and not r.file.startswith("<"):
            self.sig_open_source_requested.emit(r.file, r.line or 1)
