"""Table model and filter of the message inspector: bridge history rows, coloured by outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush

from logomesh_studio.runtime.bus import Outcome
from logomesh_studio.runtime.events import MessageRecorded
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.studio import theme
from logomesh_studio.studio.formatting import clock, human_duration, human_size
from logomesh_studio.studio.widgets.record_table import Column, RecordTableModel

OUTCOMES = tuple(Outcome)
DEVELOPER_NAME = "Studio (developer)"
"""How the inspector and the composer name the sender Studio uses on the developer's behalf."""
ALL = ""
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def outcome_color(outcome: str) -> str:
    """The theme colour name of a message outcome."""
    colors = {Outcome.OK: "ok", Outcome.REFUSED: "refused", Outcome.TIMEOUT: "timeout"}
    return colors.get(Outcome(outcome), "error")


class MessageTableModel(RecordTableModel[MessageRecorded]):
    """Bridge history rows; the outcome column is coloured, the developer sender named."""

    SOURCE, OUTCOME = 1, 6

    def __init__(self, capacity: int = 10_000, parent: QObject | None = None) -> None:
        columns: tuple[Column[MessageRecorded], ...] = (
            Column("Time", lambda m: clock(m.time)),
            Column("Source", lambda m: self.sender_name(m.source)),
            Column("Target", lambda m: m.target),
            Column("Type", lambda m: m.type),
            Column("Size", lambda m: human_size(m.size), _RIGHT),
            Column("Duration", lambda m: human_duration(m.duration), _RIGHT),
            Column("Outcome", lambda m: m.outcome, tooltip=lambda m: m.error or m.outcome),
        )
        super().__init__(columns, capacity, parent)

    @staticmethod
    def sender_name(source: str) -> str:
        """``source`` as the inspector shows it: the developer sender by name."""
        return DEVELOPER_NAME if source == DEVELOPER else source

    def record_data(self, record: MessageRecorded, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and (
                column == self.OUTCOME or record.outcome != Outcome.OK):
            return QBrush(theme.color(outcome_color(record.outcome)))
        if role == Qt.ItemDataRole.ToolTipRole and record.error:
            return record.error
        return None


@dataclass(frozen=True)
class MessageFilter:
    """What the inspector shows: by plugin (either end), type, outcome and free text."""

    plugin: str = ALL
    type: str = ALL
    outcome: str = ALL
    text: str = ""

    def is_empty(self) -> bool:
        return not (self.plugin or self.type or self.outcome or self.text)

    def __call__(self, m: MessageRecorded) -> bool:
        if self.plugin and self.plugin not in (m.source, m.target):
            return False
        if self.type and m.type != self.type:
            return False
        if self.outcome and m.outcome != self.outcome:
            return False
        if self.text:
            needle = self.text.lower()
            return any(needle in s.lower() for s in (m.source, m.target, m.type, m.payload,
                                                      m.response, m.error))
        return True
