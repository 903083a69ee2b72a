"""A lazily expanded tree of debugger values: name, value and type columns.

Rows hold plain text only: a name, the expression that reaches the value in the
stopped frame, its (already truncated) repr and its type name. Expanding a row asks
a *fetcher* for the children of its expression; the answer may arrive later (it is
computed off the GUI thread), and one that arrives after :meth:`VariablesModel.reset`
is dropped, since its frame is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFontDatabase
from PySide6.QtWidgets import QWidget

from logomesh_studio.studio import theme
from logomesh_studio.studio.widgets.item_models import TreeModel
from logomesh_studio.studio.widgets.json_tree import ValueTreeView

_Index = QModelIndex | QPersistentModelIndex
_SHOWN = 160  # characters of a value shown in its cell; the tooltip has the rest


@dataclass(frozen=True)
class ValueRow:
    """One row: ``expression`` evaluates to the value in the stopped frame ("" for none);
    ``error`` marks a value that is the text of an evaluation error."""

    name: str
    expression: str
    value: str
    type: str = ""
    expandable: bool = False
    error: bool = False


_ROOT_ROW = ValueRow("", "", "")  # the invisible root's row

#: ``fetch(expression, done)``: compute the children of ``expression``, then call
#: ``done(rows)`` (or ``done(exception)``) on the GUI thread.
Fetcher = Callable[[str, Callable[[list[ValueRow] | Exception], None]], None]


class _Node:
    __slots__ = ("row", "parent", "index", "children", "loading")

    def __init__(self, row: ValueRow, parent: _Node | None, index: int) -> None:
        self.row = row
        self.parent = parent
        self.index = index
        self.children: list[_Node] | None = None
        self.loading = False


class VariablesModel(TreeModel):
    """Rows of values; children are fetched on first expansion through ``fetcher``."""

    HEADERS = ("Name", "Value", "Type")

    def __init__(self, fetcher: Fetcher | None = None, parent=None) -> None:
        super().__init__(parent)
        self._fetcher = fetcher
        self._root = _Node(_ROOT_ROW, None, 0)
        self._root.children = []
        self._generation = 0

    def set_fetcher(self, fetcher: Fetcher | None) -> None:
        self._fetcher = fetcher

    def reset(self, rows: list[ValueRow] | None = None) -> None:
        """Show ``rows`` at the top level; pending fetches are forgotten."""
        self.beginResetModel()
        self._generation += 1
        self._root.children = [_Node(row, self._root, i) for i, row in enumerate(rows or ())]
        self.endResetModel()

    def top_rows(self) -> list[ValueRow]:
        return [node.row for node in self._root.children or () if node.row is not None]

    def row_at(self, index: _Index) -> ValueRow | None:
        node = self._node(index)
        return node.row if node is not self._root else None

    def find(self, *names: str) -> QModelIndex:
        """The index reached by following row names from the top; invalid if absent."""
        parent = QModelIndex()
        for name in names:
            node = self._node(parent)
            found = next((child for child in node.children or () if child.row.name == name),
                         None)
            if found is None:
                return QModelIndex()
            parent = self.createIndex(found.index, 0, found)
        return parent

    # model

    def _node(self, index: _Index) -> _Node:
        return self.node(index) or self._root

    def _row(self, node: _Node) -> int:
        return node.index

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        node = self._node(parent)
        if node is self._root:
            return bool(node.children)
        if node.children is None:
            return node.row.expandable
        return bool(node.children)

    def canFetchMore(self, parent: _Index) -> bool:
        node = self._node(parent)
        return (node is not self._root and node.children is None and node.row.expandable
                and not node.loading and self._fetcher is not None)

    def fetchMore(self, parent: _Index) -> None:
        if not self.canFetchMore(parent):
            return
        node = self._node(parent)
        node.loading = True
        generation = self._generation
        assert self._fetcher is not None  # canFetchMore checked it
        self._fetcher(node.row.expression,
                      lambda result: self._on_fetched(node, generation, result))

    def _on_fetched(self, node: _Node, generation: int, result: list[ValueRow] | Exception) -> None:
        if generation != self._generation:
            return
        node.loading = False
        if isinstance(result, Exception):
            rows = [ValueRow("error", "", str(result), type(result).__name__, error=True)]
        else:
            rows = result
        index = self.createIndex(node.index, 0, node)
        if rows:
            self.beginInsertRows(index, 0, len(rows) - 1)
            node.children = [_Node(row, node, i) for i, row in enumerate(rows)]
            self.endInsertRows()
        else:
            node.children = []
            self.dataChanged.emit(index, index.siblingAtColumn(len(self.HEADERS) - 1))

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row: ValueRow = index.internalPointer().row
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.name
            if column == 1:
                text = " ".join(row.value.split("\n"))
                return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"
            return row.type
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0 and row.expression:
                return row.expression
            if column == 1:
                return row.value
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.error:
                return QBrush(theme.color("error"))
            if column == 2 or not row.expression and column == 0:
                return QBrush(theme.color("muted"))
        if role == Qt.ItemDataRole.FontRole and column == 1:
            return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        return None


class VariablesView(ValueTreeView):
    """A tree view set up for a :class:`VariablesModel`."""

    def __init__(self, model: VariablesModel, parent: QWidget | None = None) -> None:
        super().__init__(model, parent, type_width=90)
