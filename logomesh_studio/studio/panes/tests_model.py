"""The tests pane's tree: plugins -> test files -> tests, updated from a run's JSON lines.

Records come from ``logomesh-studio test --json`` (see ``devtools/testrun.py``):
``plugin_started``, one ``test`` per result and one ``summary`` per plugin. Tests keep
their last result between runs; a run marks the tests it will run as ``running`` and
each result replaces that as it arrives, so the tree shows progress live.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush

from logomesh_studio.studio import theme
from logomesh_studio.studio.formatting import human_duration
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.item_models import TreeModel

_Index = QModelIndex | QPersistentModelIndex

RUNNING, NOT_RUN = "running", "not run"
PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"
_ICONS = {PASSED: "status-running", FAILED: "status-failed", ERROR: "test-error",
          SKIPPED: "test-skipped", RUNNING: "status-loading", NOT_RUN: "test-pending"}
_COLORS = {FAILED: "error", ERROR: "error", PASSED: "ok"}
COLUMNS = ("Test", "Result", "Time", "Coverage")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(eq=False)
class TestNode:
    """A plugin, a test file or a test; ``key`` is the plugin id, file path or node id."""

    __test__ = False  # not a pytest test class, whatever its name says

    kind: str  # plugin | file | test
    key: str
    name: str
    parent: TestNode | None = None
    children: list[TestNode] = field(default_factory=list)
    outcome: str = NOT_RUN
    duration: float = 0.0
    message: str = ""
    path: str = ""  # the file to open (absolute)
    line: int = 0
    location: tuple[str, int] | None = None  # where a failure happened
    coverage: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def tests(self) -> Iterator[TestNode]:
        """This node's tests (itself, if it is one)."""
        if self.kind == "test":
            yield self
        for child in self.children:
            yield from child.tests()

    def plugin(self) -> TestNode:
        node = self
        while node.parent is not None and node.kind != "plugin":
            node = node.parent
        return node


def _outcome_of(node: TestNode) -> str:
    """A file's or plugin's result: the worst of its tests'."""
    outcomes = {test.outcome for test in node.tests()}
    for outcome in (RUNNING, ERROR, FAILED, PASSED, SKIPPED):
        if outcome in outcomes:
            return outcome
    return NOT_RUN


def _counts(node: TestNode) -> str:
    tests = list(node.tests())
    if not tests:
        return "no tests"
    found: dict[str, int] = {}
    for test in tests:
        found[test.outcome] = found.get(test.outcome, 0) + 1
    order = (FAILED, ERROR, PASSED, SKIPPED, RUNNING, NOT_RUN)
    return ", ".join(f"{found[o]} {o}" for o in order if o in found)


def resolve(path: str, *folders: str) -> str:
    """``path`` made absolute: as is, else under the first of ``folders`` where it exists."""
    if not path or os.path.isabs(path):
        return path
    candidates = [os.path.join(folder, path) for folder in folders if folder]
    return next((c for c in candidates if os.path.exists(c)), candidates[0] if candidates else path)


def parse_location(location: str | None, *folders: str) -> tuple[str, int] | None:
    """``"file:line"`` as (absolute path, line), or None."""
    if not location or ":" not in location:
        return None
    path, _, line = location.rpartition(":")
    return (resolve(path, *folders), int(line)) if line.isdigit() else None


class TestTreeModel(TreeModel):
    """Test results by plugin and file, with live status."""

    HEADERS = COLUMNS

    __test__ = False

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._root = TestNode("root", "", "")
        self._plugins: dict[str, TestNode] = {}
        self._folders: dict[str, tuple[str, str]] = {}  # plugin -> (folder, tests dir)
        self.coverage_files: dict[str, tuple[float | None, frozenset[int]]] = {}
        """Covered % and missing lines of each plugin file (absolute path), from summaries."""

    # Qt model

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        outcome = node.outcome if node.kind == "test" else _outcome_of(node)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return node.name
            if column == 1:
                return outcome if node.kind == "test" else _counts(node)
            if column == 2:
                return human_duration(node.duration) if node.duration else ""
            if column == 3 and node.coverage is not None:
                return f"{node.coverage:.0f} %"
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return icon(_ICONS[outcome])
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and outcome in _COLORS:
            return QBrush(theme.color(_COLORS[outcome]))
        if role == Qt.ItemDataRole.ToolTipRole:
            return node.message or node.path or node.name
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (2, 3):
            return _RIGHT
        return None

    # nodes

    def _index_of(self, node: TestNode, column: int = 0) -> QModelIndex:
        return self.createIndex(self._row(node), column, node)

    def plugin_node(self, plugin_id: str) -> TestNode | None:
        return self._plugins.get(plugin_id)

    def plugin_index(self, plugin_id: str) -> QModelIndex:
        node = self._plugins.get(plugin_id)
        return self._index_of(node) if node is not None else QModelIndex()

    def test_index(self, nodeid: str) -> QModelIndex:
        node = next((t for t in self._root.tests() if t.key == nodeid), None)
        return self._index_of(node) if node is not None else QModelIndex()

    def all_tests(self) -> list[TestNode]:
        return list(self._root.tests())

    def failed_tests(self) -> list[TestNode]:
        return [t for t in self._root.tests() if t.outcome in (FAILED, ERROR)]

    def _child(self, parent: TestNode, kind: str, key: str, name: str) -> TestNode:
        for child in parent.children:
            if child.key == key:
                return child
        parent_index = QModelIndex() if parent is self._root else self._index_of(parent)
        row = len(parent.children)
        self.beginInsertRows(parent_index, row, row)
        node = TestNode(kind, key, name, parent)
        parent.children.append(node)
        self.endInsertRows()
        return node

    def _changed(self, node: TestNode) -> None:
        # A test's change shows in its row and in its file's and plugin's summaries.
        while node is not self._root and node is not None:
            self.dataChanged.emit(self._index_of(node, 0), self._index_of(node, len(COLUMNS) - 1))
            node = node.parent  # type: ignore[assignment]

    # runs

    def set_plugins(self, plugins: dict[str, str]) -> None:
        """Show every plugin (id -> folder), tested or not; forget plugins that are gone."""
        for plugin_id, folder in plugins.items():
            node = self._child(self._root, "plugin", plugin_id, plugin_id)
            node.path = folder
            self._folders.setdefault(plugin_id, (folder, os.path.join(folder, "tests")))
        for plugin_id in [p for p in self._plugins if p not in plugins]:
            self._remove(self._plugins.pop(plugin_id))
        self._plugins.update({n.key: n for n in self._root.children})

    def _remove(self, node: TestNode) -> None:
        parent = node.parent or self._root
        row = parent.children.index(node)
        parent_index = QModelIndex() if parent is self._root else self._index_of(parent)
        self.beginRemoveRows(parent_index, row, row)
        parent.children.pop(row)
        self.endRemoveRows()

    def begin_run(self, tests: list[TestNode]) -> None:
        """Mark ``tests`` as running (results replace that as they arrive)."""
        for test in tests:
            test.outcome = RUNNING
            self._changed(test)

    def end_run(self) -> None:
        """The run is over: tests it did not report are marked as not run."""
        for test in self._root.tests():
            if test.outcome == RUNNING:
                test.outcome = NOT_RUN
                self._changed(test)

    def apply(self, record: dict[str, Any]) -> TestNode | None:
        """Take one JSON line of the run; returns the node it changed."""
        kind = record.get("kind")
        plugin_id = str(record.get("plugin", ""))
        if not plugin_id:
            return None
        plugin = self._child(self._root, "plugin", plugin_id, plugin_id)
        self._plugins[plugin_id] = plugin
        if kind == "plugin_started":
            tests_dir = str(record.get("tests_dir") or "")
            folder = plugin.path or (os.path.dirname(tests_dir) if tests_dir else "")
            self._folders[plugin_id] = (folder, tests_dir)
            return plugin
        if kind == "test":
            return self._apply_test(plugin, record)
        if kind == "summary":
            return self._apply_summary(plugin, record)
        return None

    def _apply_test(self, plugin: TestNode, record: dict[str, Any]) -> TestNode:
        folder, tests_dir = self._folders.get(plugin.key, (plugin.path, ""))
        nodeid = str(record.get("nodeid", ""))
        module, _, name = nodeid.partition("::")
        file_path = resolve(str(record.get("file") or module), folder, tests_dir)
        shown = os.path.relpath(file_path, folder) if folder and os.path.isabs(file_path) \
            else module
        file_node = self._child(plugin, "file", file_path, shown)
        file_node.path = file_path
        test = self._child(file_node, "test", nodeid, name or nodeid)
        test.outcome = str(record.get("outcome", ERROR))
        test.duration = float(record.get("duration") or 0.0)
        test.message = str(record.get("message") or "")
        test.path = file_path
        test.line = int(record.get("line") or 0)
        test.location = parse_location(record.get("location"), folder, tests_dir)
        file_node.duration = sum(t.duration for t in file_node.tests())
        self._changed(test)
        return test

    def _apply_summary(self, plugin: TestNode, record: dict[str, Any]) -> TestNode:
        folder, tests_dir = self._folders.get(plugin.key, (plugin.path, ""))
        plugin.summary = dict(record)
        plugin.duration = float(record.get("duration") or 0.0)
        coverage = record.get("coverage")
        plugin.coverage = float(coverage) if coverage is not None else None
        plugin.message = str(record.get("message") or "")
        for path, info in (record.get("files") or {}).items():
            absolute = resolve(str(path), folder)
            pct = info.get("coverage")
            self.coverage_files[os.path.realpath(absolute)] = (
                float(pct) if pct is not None else None,
                frozenset(int(line) for line in info.get("missing") or ()))
        for test in plugin.tests():
            if test.outcome == RUNNING:  # the run is over for this plugin
                test.outcome = NOT_RUN
                self._changed(test)
        self._changed(plugin)
        return plugin

    def coverage_of(self, path: str) -> tuple[float | None, frozenset[int]] | None:
        """Covered % and missing lines of ``path`` from the last run, if it was measured."""
        return self.coverage_files.get(os.path.realpath(path))

    def clear(self) -> None:
        self.beginResetModel()
        self._root.children.clear()
        self._plugins.clear()
        self._folders.clear()
        self.coverage_files.clear()
        self.endResetModel()

