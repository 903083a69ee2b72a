"""The Qt plumbing Studio's item models share: column headers, rows of a table, and trees
of nodes that know their parent and children.

``TableModel``: a subclass sets ``HEADERS`` and keeps its rows in ``self._rows``, and
writes ``data``. ``TreeModel``: a subclass sets ``HEADERS`` (the column titles) and ``self._root`` (an invisible node whose
``children`` are the top rows), and writes ``data``. Nodes have ``parent`` (``None`` or the
root for top rows) and ``children`` (a list, or ``None`` for children not fetched yet).
Subclasses whose nodes know their own row override ``_row`` (the default searches the
siblings); subclasses that compute children lazily override ``_children``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

_Index = QModelIndex | QPersistentModelIndex


class TreeModel(QAbstractItemModel):
    """``index``/``parent``/``rowCount``/``columnCount``/``headerData`` over parent-linked nodes."""

    HEADERS: tuple[str, ...] = ()
    HEADER_TIPS: dict[int, str] = {}
    _root: Any

    def node(self, index: _Index) -> Any:
        """The node behind ``index`` (None for the invisible root)."""
        return index.internalPointer() if index.isValid() else None

    def _children(self, node: Any) -> Sequence[Any]:
        return node.children or ()

    def _row(self, node: Any) -> int:
        siblings = self._children(node.parent if node.parent is not None else self._root)
        return next(row for row, sibling in enumerate(siblings) if sibling is node)

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        children = self._children(self.node(parent) or self._root)
        if 0 <= row < len(children) and 0 <= column < len(self.HEADERS):
            return self.createIndex(row, column, children[row])
        return QModelIndex()

    def parent(  # type: ignore[override]  # QObject.parent() is the other overload
            self, index: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self.node(index)
        if node is None or node.parent is None or node.parent is self._root:
            return QModelIndex()
        return self.createIndex(self._row(node.parent), 0, node.parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._children(self.node(parent) or self._root))

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return header_data(self.HEADERS, self.HEADER_TIPS, section, orientation, role)


class TableModel(QAbstractTableModel):
    """``rowCount``/``columnCount``/``headerData`` over ``self._rows`` and ``HEADERS``."""

    HEADERS: tuple[str, ...] = ()
    HEADER_TIPS: dict[int, str] = {}
    _rows: Sequence[Any]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return header_data(self.HEADERS, self.HEADER_TIPS, section, orientation, role)


def header_data(headers: Sequence[str], tips: dict[int, str], section: int,
                orientation: Qt.Orientation, role: int) -> Any:
    """Column titles across the top (and a tooltip where ``tips`` has one); nothing else."""
    if orientation != Qt.Orientation.Horizontal:
        return None
    if role == Qt.ItemDataRole.DisplayRole:
        return headers[section]
    if role == Qt.ItemDataRole.ToolTipRole:
        return tips.get(section)
    return None
