"""Recorded traffic out of the message inspector: Save Messages and Generate Tests.

Save Messages writes records as JSON lines, each exactly the ``message`` event that
``logomesh-studio run --json`` prints, so a file saved here is a recording for
``logomesh-studio testgen --from``. Generate Tests turns the selected messages into a
pytest file under the target plugin's ``tests/`` (``devtools/testgen.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QWidget

from logomesh_studio.runtime.events import MessageRecorded
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.panes.messages import MessagesPane


def message_line(record: MessageRecorded) -> str:
    """``record`` as the JSON line ``logomesh-studio run --json`` prints for it."""
    return json.dumps(record.to_json())


def save_messages(path: Path | str, records: Iterable[MessageRecorded]) -> int:
    """Write ``records`` to ``path`` as JSON lines; returns how many."""
    lines = [message_line(record) + "\n" for record in records]
    Path(path).write_text("".join(lines), encoding="utf-8")
    return len(lines)


def free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name`` with a number before its suffix if that is taken."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    count = 2
    while path.exists():
        path = folder / f"{stem}_{count}{suffix}"
        count += 1
    return path


class MessageExport(QObject):
    """The messages pane's Save Messages and Generate Tests actions."""

    sig_file_written = Signal(str)  # a generated test file: open it
    sig_error = Signal(str)
    sig_status = Signal(str)

    def __init__(self, pane: MessagesPane, client: RuntimeClient,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.client = client
        # Several messages make one recording (or one test file).
        pane.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.action_save = make_action(
            pane, "Save &Messages…", "save",
            "Save the selected messages (all if none is selected) as JSON lines, a recording "
            "for logomesh-studio testgen", "Ctrl+Shift+E", name="action_save_messages")
        self.action_generate = make_action(
            pane, "&Generate Tests", "tests",
            "Write pytest tests that replay the selected calls to a plugin and check its "
            "recorded answers", "", name="action_generate_tests")
        self.action_save.triggered.connect(self._on_save_triggered)
        self.action_generate.triggered.connect(self._on_generate_triggered)

    # records

    def selected_records(self) -> list[MessageRecorded]:
        """The selected messages, oldest first."""
        rows = sorted(index.row() for index in self.pane.table.selectionModel().selectedRows())
        return [self.pane.model.record(row) for row in rows]

    def records_to_save(self) -> list[MessageRecorded]:
        """The selected messages, else every message shown."""
        return self.selected_records() or [self.pane.model.record(row)
                                           for row in range(self.pane.model.rowCount())]

    # Save Messages

    def save_to(self, path: Path | str) -> int:
        """Save :meth:`records_to_save` to ``path``; returns how many."""
        count = save_messages(path, self.records_to_save())
        self.sig_status.emit(f"Saved {count} messages to {path}")
        return count

    def _on_save_triggered(self) -> None:
        start = str(self.client.workspace or Path.home())
        path, _ = QFileDialog.getSaveFileName(self._window(), "Save Messages",
                                              os.path.join(start, "messages.jsonl"),
                                              "JSON lines (*.jsonl *.json);;All files (*)")
        if not path:
            return
        try:
            self.save_to(path)
        except OSError as exc:
            self.sig_error.emit(f"Cannot save {path}: {exc.strerror or exc}")

    # Generate Tests

    def generate(self, records: list[MessageRecorded] | None = None) -> list[Path]:
        """Write a test file per target plugin of ``records`` (default: the selection);
        returns the files written."""
        from logomesh_studio.devtools.testgen import default_output, generate_tests

        records = self.selected_records() if records is None else records
        folders = {info.id: Path(info.folder) for info in self.client.plugin_infos}
        workspace = self.client.workspace
        targets = sorted({r.target for r in records if r.target in folders})
        if workspace is None or not targets:
            self.sig_error.emit("Generate Tests: select messages sent to a plugin of the "
                                "workspace")
            return []
        written = []
        for plugin_id in targets:
            default = default_output(workspace, plugin_id)  # tests/test_<package>_recorded.py
            try:
                default.parent.mkdir(exist_ok=True)
                path = free_path(default.parent, default.name)  # never over earlier tests
                source = generate_tests(records, plugin_id, workspace, output=path,
                                        recording="messages selected in LogoMesh Studio")
                path.write_text(source, encoding="utf-8")
            except OSError as exc:
                self.sig_error.emit(f"Cannot write the tests of {plugin_id}: "
                                    f"{exc.strerror or exc}")
                continue
            written.append(path)
            self.sig_file_written.emit(str(path))
        if written:
            self.sig_status.emit("Generated " + ", ".join(str(p) for p in written))
        return written

    def _on_generate_triggered(self) -> None:
        try:
            self.generate()
        except ValueError as exc:  # nothing to generate from these messages
            self.sig_error.emit(f"Generate Tests: {exc}")

    def _window(self) -> QWidget:
        return self.pane.window()

