"""A read-only tree of a JSON document: key, value and type columns.

Children are built lazily when a node is first asked for them, so a 1 MB payload
costs nothing until it is expanded.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QWidget

from logomesh_studio.studio import theme
from logomesh_studio.studio.widgets.item_models import TreeModel

_Index = QModelIndex | QPersistentModelIndex
_PREVIEW = 80


class _Node:
    __slots__ = ("key", "value", "parent", "row", "_children")

    def __init__(self, key: str, value: Any, parent: _Node | None, row: int) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.row = row
        self._children: list[_Node] | None = None

    @property
    def children(self) -> list[_Node]:
        if self._children is None:
            if isinstance(self.value, dict):
                items = [(str(k), v) for k, v in self.value.items()]
            elif isinstance(self.value, list):
                items = [(f"[{i}]", v) for i, v in enumerate(self.value)]
            else:
                items = []
            self._children = [_Node(k, v, self, i) for i, (k, v) in enumerate(items)]
        return self._children

    def set_children(self, children: list[_Node]) -> None:
        self._children = children

    def has_children(self) -> bool:
        return isinstance(self.value, dict | list) and bool(self.value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return f"array[{len(value)}]"
    return f"object{{{len(value)}}}"


def _preview(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value)
    return text if len(text) <= _PREVIEW else text[:_PREVIEW - 1] + "…"


class JsonTreeModel(TreeModel):
    """Model of one JSON value; ``set_json`` takes JSON text (invalid text is shown raw)."""

    HEADERS = ("Key", "Value", "Type")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._root = _Node("", None, None, 0)  # its children are the top rows, set below
        self.text = ""

    def set_json(self, text: str, label: str = "value") -> None:
        self.beginResetModel()
        self.text = text
        if not text:
            self._root.set_children([])
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            self._root.set_children([_Node(label, value, None, 0)])
        self.endResetModel()

    def _children(self, node: _Node) -> list[_Node]:
        return node.children

    def _row(self, node: _Node) -> int:
        return node.row

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        node = self.node(parent)
        return bool(self._root.children) if node is None else node.has_children()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == 0:
                return node.key
            if column == 1:
                if role == Qt.ItemDataRole.ToolTipRole:
                    return json.dumps(node.value, indent=2, ensure_ascii=False)[:4000]
                return _preview(node.value)
            return _type_name(node.value)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 1:
                value = node.value
                if isinstance(value, str):
                    return QBrush(theme.color("ok"))
                if isinstance(value, bool) or value is None:
                    return QBrush(theme.color("timeout"))
                if isinstance(value, int | float):
                    return QBrush(theme.color("info"))
            if column == 2:
                return QBrush(theme.color("muted"))
        if role == Qt.ItemDataRole.FontRole and column == 1:
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            return font
        return None

    def node_value(self, index: _Index) -> Any:
        node = self.node(index)
        return None if node is None else node.value


class ValueTreeView(QTreeView):
    """A tree of name | value | type rows: whole rows selected, the value column stretching.

    ``type_width``: the type column's starting width (resizable); None fits it to its texts.
    """

    def __init__(self, model: QAbstractItemModel, parent: QWidget | None = None,
                 type_width: int | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 140)
        if type_width is None:
            header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        else:
            header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(2, type_width)


class JsonTreeView(ValueTreeView):
    """A value tree over a JsonTreeModel that expands the first levels on load."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.json_model = JsonTreeModel()
        super().__init__(self.json_model, parent)
        self.json_model.setParent(self)

    def set_json(self, text: str, label: str = "value") -> None:
        self.json_model.set_json(text, label)
        self.expandToDepth(1)
