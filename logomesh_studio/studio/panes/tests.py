"""Tests pane: run the plugins' tests with coverage and watch the results arrive.

Runs ``logomesh-studio test --json`` in a child process (``tests_process``) and shows
plugins -> files -> tests with live status (``tests_model``). Failures show their
message with clickable locations; coverage goes to the editor's gutter; a saved
plugin can re-run its tests once it has reloaded.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTextBrowser,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.runtime.events import ReloadCompleted
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import add_actions, make_action
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.panes.tests_model import (
    ERROR,
    FAILED,
    TestNode,
    TestTreeModel,
    resolve,
)
from logomesh_studio.studio.panes.tests_process import TestRunProcess
from logomesh_studio.studio.widgets.search_field import SearchField

_LOCATION = re.compile(r"(?P<path>(?:[A-Za-z]:)?[^\s:\"'<>()]+\.py):(?P<line>\d+)")


class TestsPane(QWidget):
    """Run tests (all, selected, failed), see them live, open failures in the editor."""

    __test__ = False

    sig_open_file_requested = Signal(str, int)  # path, line
    sig_coverage_changed = Signal()  # a summary brought new coverage (see coverage_of)
    sig_run_finished = Signal(int)  # exit code of the run (-1: crashed or stopped)
    sig_debug_requested = Signal(object)  # TestNode

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tests_pane")
        self.client = client
        self.model = TestTreeModel(self)
        self.process = TestRunProcess(self)
        self._queued: set[str] = set()
        self._build()
        self._wire_signals()
        self._update_actions()

    # construction

    def _action(self, name: str, text: str, icon_name: str, tip: str, shortcut: str,
                slot: Callable[[], object]) -> QAction:
        action = make_action(self, text, icon_name, tip, shortcut, name=name,
                             context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build(self) -> None:
        self.action_run_all = self._action(
            "action_run_all_tests", "Run All Tests", "start",
            "Run every plugin's tests with coverage", "Ctrl+Shift+T", self.run_all)
        self.action_run_selected = self._action(
            "action_run_selected_tests", "Run Selected", "replay",
            "Run the selected plugins, files or tests", "Ctrl+T", self.run_selected)
        self.action_run_failed = self._action(
            "action_run_failed_tests", "Run Failed", "status-failed",
            "Run the tests that failed last time", "Ctrl+Alt+T", self.run_failed)
        self.action_stop = self._action(
            "action_stop_tests", "Stop", "stop", "Stop the test run", "", self.process.stop)
        self.action_debug = self._action(
            "action_debug_test", "Debug This Test", "debug",
            "Run the selected test under the debugger", "", self._on_debug_triggered)
        self.action_coverage = self._action(
            "action_test_coverage", "Coverage", "profiler",
            "Measure coverage (shown in the editor's gutter)", "", lambda: None)
        self.action_coverage.setCheckable(True)
        self.action_coverage.setChecked(True)
        self.action_rerun_on_save = self._action(
            "action_rerun_on_save", "Re-run on Save", "reload",
            "Run a plugin's tests again each time it hot-reloads", "", lambda: None)
        self.action_rerun_on_save.setCheckable(True)

        toolbar = QToolBar("Tests", self)
        toolbar.setObjectName("tests_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        add_actions(toolbar, (self.action_run_all, self.action_run_selected,
                              self.action_run_failed, self.action_stop, None, self.action_debug,
                              None, self.action_coverage, self.action_rerun_on_save))
        self.search = SearchField("Filter tests…", self)
        self.search.setObjectName("tests_filter")
        toolbar.addWidget(self.search)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("tests_status")
        self.status_label.setContentsMargins(8, 0, 4, 0)
        toolbar.addWidget(self.status_label)

        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.tree = QTreeView(self)
        self.tree.setObjectName("tests_tree")
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for column, width in ((1, 150), (2, 80), (3, 80)):
            self.tree.setColumnWidth(column, width)

        self.details = QTextBrowser(self)
        self.details.setObjectName("test_details")
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText("Select a test to see its result; failures show "
                                        "their message with links to the lines involved.")
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(toolbar)
        layout.addWidget(self.splitter, 1)

    def _wire_signals(self) -> None:
        self.process.sig_record.connect(self._on_process_record)
        self.process.sig_finished.connect(self._on_process_finished)
        self.process.sig_started.connect(self._update_actions)
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.client.sig_reload_completed.connect(self._on_client_reload_completed)
        self.search.sig_search_changed.connect(self.proxy.setFilterFixedString)
        self.tree.selectionModel().selectionChanged.connect(self._on_tree_selection_changed)
        self.tree.doubleClicked.connect(self._on_tree_double_clicked)
        self.details.anchorClicked.connect(self._on_details_anchor_clicked)

    # runs

    def run_all(self) -> bool:
        """Run every plugin's tests."""
        return self._run([], self.model.all_tests())

    def run_plugins(self, plugin_ids: list[str]) -> bool:
        """Run the tests of ``plugin_ids``."""
        tests = [t for p in plugin_ids if (n := self.model.plugin_node(p)) for t in n.tests()]
        return self._run(plugin_ids, tests)

    def run_selected(self) -> bool:
        """Run the selected plugins, files and tests."""
        nodes = self.selected_nodes()
        if not nodes:
            return False
        if all(node.kind == "plugin" for node in nodes):
            return self.run_plugins([node.key for node in nodes])
        return self.run_tests([t for node in nodes for t in node.tests()])

    def run_failed(self) -> bool:
        """Run the tests that failed or errored last time."""
        return self.run_tests(self.model.failed_tests())

    def run_tests(self, tests: list[TestNode]) -> bool:
        """Run ``tests``, each by its pytest node id (a test of the same name elsewhere
        does not run)."""
        if not tests:
            return False
        plugins = sorted({test.plugin().key for test in tests})
        return self._run(plugins, tests, [test.key for test in tests])

    def _run(self, plugins: list[str], tests: list[TestNode], select: list[str] | None = None
             ) -> bool:
        workspace = self.client.workspace
        if workspace is None:
            self._show_status("Open a workspace to run its tests", error=True)
            return False
        self.model.begin_run(tests)
        self.process.start(workspace, plugins, select or (), self.action_coverage.isChecked())
        what = ", ".join(plugins) if plugins else "every plugin"
        self._show_status(f"Running the tests of {what}…")
        return True

    @property
    def running(self) -> bool:
        return self.process.running

    def coverage_of(self, path: str) -> tuple[float | None, frozenset[int]] | None:
        """Covered % and missing lines of ``path`` from the last run, if measured."""
        return self.model.coverage_of(path)

    def selected_nodes(self) -> list[TestNode]:
        rows = self.tree.selectionModel().selectedRows(0)
        nodes = [self.model.node(self.proxy.mapToSource(index)) for index in rows]
        return [node for node in nodes if node is not None]

    def select_test(self, nodeid: str) -> None:
        """Select (and show) the test ``nodeid``."""
        index = self.proxy.mapFromSource(self.model.test_index(nodeid))
        if index.isValid():
            self.tree.scrollTo(index)
            self.tree.selectionModel().select(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect |
                QItemSelectionModel.SelectionFlag.Rows)
            self.tree.setCurrentIndex(index)

    # process events

    def _on_process_record(self, record: dict) -> None:
        node = self.model.apply(record)
        if node is not None and node.kind == "plugin":
            self.tree.expand(self.proxy.mapFromSource(self.model.plugin_index(node.key)))
        if record.get("kind") == "summary":
            self.sig_coverage_changed.emit()
        self._show_progress()

    def _on_process_finished(self, exit_code: int, errors: str) -> None:
        self.model.end_run()
        self._update_actions()
        tests = self.model.all_tests()
        failed = sum(t.outcome in (FAILED, ERROR) for t in tests)
        if exit_code not in (0, 1) and not failed:
            detail = (errors or self.process.output).strip().splitlines()
            why = detail[-1] if detail else f"exit code {exit_code}"
            self._show_status(f"The test run did not finish: {why}", error=True)
        else:
            self._show_progress(done=True)
        self._refresh_details()
        self.sig_run_finished.emit(exit_code)
        if self._queued:
            queued, self._queued = sorted(self._queued), set()
            self.run_plugins(queued)

    # client events

    def _on_client_plugins_listed(self, infos: list) -> None:
        self.model.set_plugins({info.id: info.folder for info in infos})
        self._update_actions()

    def _on_client_workspace_opened(self, workspace: str) -> None:
        self.process.stop()
        self.model.clear()
        self._queued.clear()
        self.details.clear()
        self.status_label.clear()

    def _on_client_reload_completed(self, event: ReloadCompleted) -> None:
        if not self.action_rerun_on_save.isChecked():
            return
        if self.process.running:  # after this run
            self._queued.add(event.plugin_id)
        else:
            self.run_plugins([event.plugin_id])

    # selection and details

    def _on_tree_selection_changed(self, *_args: object) -> None:
        self._update_actions()
        self._refresh_details()

    def _refresh_details(self) -> None:
        nodes = self.selected_nodes()
        if len(nodes) != 1:
            self.details.clear()
            return
        node = nodes[0]
        e = html.escape
        parts = [f"<b>{e(node.name)}</b>"]
        if node.kind == "test":
            parts.append(f" · {e(node.outcome)}")
            where = node.location or ((node.path, node.line) if node.path else None)
            if where is not None:
                parts.append(f'<br>{_link(*where)}')
            if node.message:
                parts.append(f"<pre>{_linkify(node.message, node.plugin().path)}</pre>")
        else:
            summary = node.plugin().summary if node.kind == "plugin" else {}
            if summary:
                parts.append(f"<br>{summary.get('total', 0)} tests: "
                             f"{summary.get('passed', 0)} passed, "
                             f"{summary.get('failed', 0)} failed, "
                             f"{summary.get('skipped', 0)} skipped, "
                             f"{summary.get('errors', 0)} errors")
                if summary.get("crashed") or summary.get("timed_out"):
                    what = "timed out" if summary.get("timed_out") else "crashed"
                    parts.append(f'<br><span style="color:{theme.color("error").name()}">'
                                 f"The test process {what}</span>")
            if node.message:
                parts.append(f"<pre>{_linkify(node.message, node.plugin().path)}</pre>")
            for test in node.tests():
                if test.outcome in (FAILED, ERROR):
                    where = test.location or (test.path, test.line)
                    parts.append(f"<br>✗ {e(test.name)} {_link(*where)}")
        self.details.setHtml("".join(parts))

    def _on_tree_double_clicked(self, index: QModelIndex) -> None:
        node = self.model.node(self.proxy.mapToSource(index))
        if node is None:
            return
        where = node.location or ((node.path, node.line) if node.path else None)
        if where is not None and os.path.isfile(where[0]):
            self.sig_open_file_requested.emit(where[0], where[1])

    def _on_details_anchor_clicked(self, url: QUrl) -> None:
        path, line = url.toLocalFile(), int(url.fragment() or 0)
        self.sig_open_file_requested.emit(path, line)

    def _on_debug_triggered(self) -> None:
        nodes = [n for n in self.selected_nodes() if n.kind == "test"]
        if len(nodes) == 1:
            self.sig_debug_requested.emit(nodes[0])

    # presentation

    def _update_actions(self, *_args: object) -> None:
        has_workspace = self.client.workspace is not None
        nodes = self.selected_nodes()
        self.action_run_all.setEnabled(has_workspace)
        self.action_run_selected.setEnabled(has_workspace and bool(nodes))
        self.action_run_failed.setEnabled(has_workspace and bool(self.model.failed_tests()))
        self.action_stop.setEnabled(self.process.running)
        self.action_debug.setEnabled(len(nodes) == 1 and nodes[0].kind == "test")

    def _show_progress(self, done: bool = False) -> None:
        tests = self.model.all_tests()
        counts: dict[str, int] = {}
        for test in tests:
            counts[test.outcome] = counts.get(test.outcome, 0) + 1
        text = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no tests"
        failed = counts.get(FAILED, 0) + counts.get(ERROR, 0)
        self._show_status(("Done: " if done else "Running: ") + text, error=bool(failed))

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)
        color = theme.color("error").name() if error else ""
        self.status_label.setStyleSheet(f"color: {color};" if color else "")


def _link(path: str, line: int) -> str:
    url = QUrl.fromLocalFile(path)
    url.setFragment(str(line))
    name = html.escape(os.path.basename(path))
    return f'<a href="{url.toString()}">{name}:{line}</a>'


def _linkify(text: str, folder: str = "") -> str:
    """``text`` as HTML, with each ``path.py:LINE`` of an existing file (absolute, or
    relative to ``folder``) a link that opens the editor."""
    out, last = [], 0
    for match in _LOCATION.finditer(text):
        path = resolve(match.group("path"), folder)
        if not os.path.isfile(path):
            continue
        out.append(html.escape(text[last:match.start()]))
        url = QUrl.fromLocalFile(path)
        url.setFragment(match.group("line"))
        out.append(f'<a href="{url.toString()}">{html.escape(match.group())}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)
