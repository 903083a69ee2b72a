"""A bounded, filterable table model over plain records (messages, logs, reloads).

The model keeps every record (up to ``capacity``) and the subset that passes the
filter; records arrive in batches and are appended with one ``beginInsertRows``, the
oldest dropped with one ``beginRemoveRows``. Filtering lives in the model rather than
a QSortFilterProxyModel so a burst costs one predicate call per new record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.studio.widgets.item_models import TableModel

R = TypeVar("R")
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: a header and how to show a record in it."""

    title: str
    text: Callable[[R], str]
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    tooltip: Callable[[R], str] | None = None


class RecordTableModel(TableModel, Generic[R]):
    """Append-only table of records with a capacity and a row predicate."""

    def __init__(self, columns: Sequence[Column[R]], capacity: int, parent=None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self.HEADERS = tuple(column.title for column in self._columns)
        self._capacity = capacity
        self._all: deque[R] = deque()
        self._rows: list[R] = []
        self._accepts: Callable[[R], bool] | None = None

    # -- Qt model ---------------------------------------------------------------------------

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self._rows[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.align
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(record)
        return self.record_data(record, index.column(), role)

    def record_data(self, record: R, column: int, role: int) -> Any:
        """Extra roles (colours, icons) for subclasses."""
        return None

    # -- records ----------------------------------------------------------------------------

    @property
    def records(self) -> Sequence[R]:
        """The visible (filtered) records, oldest first."""
        return self._rows

    @property
    def total(self) -> int:
        """Records kept, visible or not."""
        return len(self._all)

    def record(self, row: int) -> R:
        return self._rows[row]

    def append(self, batch: Iterable[R]) -> None:
        """Add a batch of records (one insert, at most one removal)."""
        batch = list(batch)[-self._capacity:]
        if not batch:
            return
        overflow = len(self._all) + len(batch) - self._capacity
        if overflow > 0:
            self._drop_oldest(overflow)
        self._all.extend(batch)
        accepts = self._accepts
        visible = batch if accepts is None else [r for r in batch if accepts(r)]
        if visible:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(visible) - 1)
            self._rows.extend(visible)
            self.endInsertRows()

    def _drop_oldest(self, count: int) -> None:
        dropped = [self._all.popleft() for _ in range(min(count, len(self._all)))]
        if not dropped or not self._rows:
            return
        if self._accepts is None:
            visible = min(len(dropped), len(self._rows))
        else:
            gone = {id(r) for r in dropped}
            visible = 0
            while visible < len(self._rows) and id(self._rows[visible]) in gone:
                visible += 1
        if visible:
            self.beginRemoveRows(QModelIndex(), 0, visible - 1)
            del self._rows[:visible]
            self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._all.clear()
        self._rows.clear()
        self.endResetModel()

    def set_filter(self, accepts: Callable[[R], bool] | None) -> None:
        """Show only records for which ``accepts(record)`` is true (None: all)."""
        self.beginResetModel()
        self._accepts = accepts
        self._rows = list(self._all) if accepts is None else [r for r in self._all if accepts(r)]
        self.endResetModel()

    def update_where(self, predicate: Callable[[R], bool], replace: Callable[[R], R]) -> None:
        """Replace records matching ``predicate`` (e.g. a reload that finished)."""
        replaced: dict[int, R] = {}
        for i, r in enumerate(self._all):
            if predicate(r):
                replaced[id(r)] = self._all[i] = replace(r)
        for row, r in enumerate(self._rows):
            if id(r) in replaced:
                self._rows[row] = replaced[id(r)]
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self._columns) - 1))


class RecordTableView(QTableView):
    """The log-like table the record panes share: whole-row single selection, compact
    fixed-height rows, no grid; ``widths`` per column, ``stretch`` (or the last column)
    takes the rest."""

    def __init__(self, name: str, model: QAbstractTableModel, widths: Sequence[int],
                 stretch: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(stretch is None)
        for column, width in enumerate(widths):
            header.resizeSection(column, width)
        if stretch is not None:
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


def lay_out_with_details(owner: QWidget, toolbar: QWidget, table: QWidget, details: QWidget,
                         splitter_name: str) -> QSplitter:
    """Lay ``owner`` out as a record pane: toolbar on top, then the table over a details
    view in a vertical splitter (3:1); returns the splitter (its state is persisted)."""
    splitter = QSplitter(Qt.Orientation.Vertical, owner)
    splitter.setObjectName(splitter_name)
    splitter.addWidget(table)
    splitter.addWidget(details)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 1)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(toolbar)
    layout.addWidget(splitter)
    return splitter
