"""QUndoCommands over the document: each stands for exactly one document edit (one undo
step), so Ctrl+Z in Studio and ``document.undo()`` walk the same history."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from logomesh_studio.orchestration.document import OrchestrationDocument


class DocumentEdit(QUndoCommand):
    """An edit already applied to the document; undo and redo go through the document."""

    def __init__(self, document: OrchestrationDocument, label: str) -> None:
        super().__init__(label)
        self.document = document
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:  # QUndoStack.push calls redo once: the edit has happened already
            self.document.redo()
        self._pushed = True

    def undo(self) -> None:
        self.document.undo()


def push(stack: QUndoStack, document: OrchestrationDocument, edit: Callable[[], None]) -> None:
    """Perform ``edit`` on ``document`` and record it as one step of ``stack``.

    A refused edit raises ValueError and leaves both the document and the stack unchanged.
    """
    edit()
    stack.push(DocumentEdit(document, document.undo_label))
