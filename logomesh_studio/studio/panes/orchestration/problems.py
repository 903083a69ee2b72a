"""The problems list: every problem of the document; clicking one selects its node."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QListView, QWidget

from logomesh_studio.orchestration.document import DocumentProblem
from logomesh_studio.studio.resources import icon

NODE_ROLE = Qt.ItemDataRole.UserRole + 1


class ProblemsView(QListView):
    """Problems as rows: ``line: field: reason``; ``sig_node_requested(node)`` on click."""

    sig_node_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orchestration_problems")
        self.model_ = QStandardItemModel(self)
        self.setModel(self.model_)
        self.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.clicked.connect(self._on_self_clicked)

    def show_problems(self, problems: Sequence[DocumentProblem]) -> None:
        self.model_.clear()
        for problem in problems:
            where = f"{problem.task or problem.phase or '(file)'}"
            item = QStandardItem(icon("level-warning" if problem.severity == "warning"
                                      else "level-error"),
                                 f"line {problem.line} · {where} · {problem.field}: "
                                 f"{problem.reason}")
            item.setData(problem.node, NODE_ROLE)
            item.setToolTip(str(problem))
            self.model_.appendRow(item)

    def rows(self) -> list[str]:
        return [self.model_.item(r).text() for r in range(self.model_.rowCount())]

    def _on_self_clicked(self, index: QModelIndex) -> None:
        node = index.data(NODE_ROLE)
        if node:
            self.sig_node_requested.emit(str(node))
