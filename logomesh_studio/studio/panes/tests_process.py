"""One run of ``logomesh-studio test --json`` in a child process, its JSON lines as signals.

The run happens in a QProcess: the GUI thread only reads lines as they arrive, so
pytest and coverage never block it, and a crashing or hanging test run cannot take
Studio down. Each JSON line becomes one ``sig_record`` (a dict: ``plugin_started``,
``test`` or ``summary``); anything else the child prints is kept as output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal

_OUTPUT_LIMIT = 200_000  # characters of non-JSON output kept for the details view


def test_command(workspace: Path | str, plugins: Sequence[str] = (), select: Sequence[str] = (),
                 coverage: bool = True) -> list[str]:
    """The arguments after the Python executable for one run (``select``: node ids)."""
    args = ["-m", "logomesh_studio.cli", "test", str(workspace), *plugins, "--json"]
    for nodeid in select:
        args += ["--select", nodeid]
    if not coverage:
        args.append("--no-coverage")
    return args


class TestRunProcess(QObject):
    """Runs the tests of a workspace's plugins; one run at a time."""

    __test__ = False  # not a pytest test class, whatever its name says

    sig_started = Signal()
    sig_record = Signal(object)  # dict, one JSON line of the run
    sig_finished = Signal(int, str)  # exit code (-1: crashed or stopped), error output

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._buffer = b""
        self.output = ""
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, workspace: Path | str, plugins: Sequence[str] = (),
              select: Sequence[str] = (), coverage: bool = True) -> None:
        """Start a run of ``plugins`` (all if empty), only the node ids in ``select`` if
        given (stopping a run in progress)."""
        self.stop()
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(test_command(workspace, plugins, select, coverage))
        process.setWorkingDirectory(str(workspace))
        process.readyReadStandardOutput.connect(self._on_process_ready_read)
        process.finished.connect(self._on_process_finished)
        process.errorOccurred.connect(self._on_process_error)
        self._process = process
        self._buffer = b""
        self.output = ""
        self._stopped = False
        process.start()
        self.sig_started.emit()

    def stop(self) -> None:
        """Kill the run in progress, if any (its finished signal still follows)."""
        process = self._process
        if process is not None:
            self._stopped = True
            process.kill()
            process.waitForFinished(3000)

    # process events

    def _on_process_ready_read(self) -> None:
        if self._process is not None:
            self._read(self._process)

    def _read(self, process: QProcess, final: bool = False) -> None:
        self._buffer += bytes(process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        if final:
            lines.append(self._buffer)
            self._buffer = b""
        for line in lines:
            self._take_line(line)

    def _take_line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and "kind" in record:
            self.sig_record.emit(record)
        elif len(self.output) < _OUTPUT_LIMIT:
            self.output += text + "\n"

    def _on_process_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._read(process, final=True)
        errors = bytes(process.readAllStandardError().data()).decode("utf-8", "replace")
        crashed = status == QProcess.ExitStatus.CrashExit or self._stopped
        process.deleteLater()
        self.sig_finished.emit(-1 if crashed else exit_code, errors)

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            process, self._process = self._process, None
            process.deleteLater()
            self.sig_finished.emit(-1, f"could not start {sys.executable}: "
                                       f"{process.errorString()}")
